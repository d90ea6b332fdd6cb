"""Signed per-member unsubscribe links (RFC 8058 one-click), verifiable without a database lookup."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from shared.config import Settings


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, member_id: uuid.UUID, channel: str) -> bytes:
    return hmac.new(secret.encode(), f"unsubscribe:{channel}:{member_id}".encode(), hashlib.sha256).digest()[
        :16
    ]


def unsubscribe_token(settings: Settings, member_id: uuid.UUID, channel: str = "email") -> str:
    return f"{_b64(member_id.bytes)}.{_b64(_mac(settings.secret, member_id, channel))}"


def verify_unsubscribe_token(settings: Settings, token: str, channel: str = "email") -> uuid.UUID | None:
    """The member the token was issued for, or None when it was altered or is not ours."""
    try:
        member_part, mac_part = token.split(".", 1)
        member_id = uuid.UUID(bytes=_unb64(member_part))
        given = _unb64(mac_part)
    except (ValueError, TypeError):
        return None
    return member_id if hmac.compare_digest(given, _mac(settings.secret, member_id, channel)) else None


def unsubscribe_url(settings: Settings, member_id: uuid.UUID) -> str:
    return f"{settings.public_url}/unsubscribe/{unsubscribe_token(settings, member_id)}"
