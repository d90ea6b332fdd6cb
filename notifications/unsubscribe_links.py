"""Signed per-member unsubscribe links (RFC 8058 one-click), verifiable without a database lookup."""

from __future__ import annotations

import uuid

from shared import signing
from shared.config import Settings

UNSUBSCRIBE_SOURCE = "email-unsubscribe"  # the consent source an unsubscribe link records


def _mac(secret: str, member_id: uuid.UUID, channel: str) -> bytes:
    return signing.digest(secret, "unsubscribe", channel, member_id)[:16]


def unsubscribe_token(settings: Settings, member_id: uuid.UUID, channel: str = "email") -> str:
    return f"{signing.b64(member_id.bytes)}.{signing.b64(_mac(settings.secret, member_id, channel))}"


def verify_unsubscribe_token(settings: Settings, token: str, channel: str = "email") -> uuid.UUID | None:
    """The member the token was issued for, or None when it was altered or is not ours."""
    try:
        member_part, mac_part = token.split(".", 1)
        member_id = uuid.UUID(bytes=signing.unb64(member_part))
        given = signing.unb64(mac_part)
    except (ValueError, TypeError):
        return None
    return member_id if signing.same(given, _mac(settings.secret, member_id, channel)) else None


def unsubscribe_url(settings: Settings, member_id: uuid.UUID) -> str:
    return f"{settings.public_url}/unsubscribe/{unsubscribe_token(settings, member_id)}"
