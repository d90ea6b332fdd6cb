"""Everything we sign with the app secret, in one place: HMAC-SHA256 over "purpose:part:part…"
(so a signature made for one purpose never passes for another), URL-safe base64 without padding,
constant-time comparison, and HS256 JWTs keyed per purpose with expiry checked on our clock.

The formats are those of the tokens already issued (links in sent e-mails, wallet passes, cookies):
changing how anything here is computed would invalidate them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import jwt


def digest(secret: str, purpose: str, *parts: object) -> bytes:
    """HMAC-SHA256 of "purpose:part1:part2…" under the secret (32 bytes)."""
    message = ":".join((purpose, *(str(part) for part in parts)))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Raises ValueError on text that is not URL-safe base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(secret: str, purpose: str, *parts: object, size: int = 16) -> str:
    """The first `size` bytes of the digest, as URL-safe base64 without padding."""
    return b64(digest(secret, purpose, *parts)[:size])


def same(given: bytes | str, expected: bytes | str) -> bool:
    """Constant-time equality (both bytes or both str)."""
    return hmac.compare_digest(given, expected)  # type: ignore[arg-type]


def encode_claims(secret: str, purpose: str, claims: dict[str, Any]) -> str:
    """An HS256 JWT whose key is derived from the secret for this purpose alone."""
    return jwt.encode(claims, digest(secret, purpose), algorithm="HS256")


def decode_claims(
    secret: str,
    purpose: str,
    token: str | None,
    now: datetime,
    *,
    audience: str | None = None,
    require: Iterable[str] = (),
) -> dict[str, Any] | None:
    """The claims of a token made by encode_claims for this purpose, or None when it is missing,
    forged, malformed, lacks a required claim or has expired ("exp" is checked against `now`, the
    app's clock, not the system's)."""
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            digest(secret, purpose),
            algorithms=["HS256"],
            audience=audience,
            options={"require": ["exp", *require], "verify_exp": False, "verify_iat": False},
        )
        expires = int(claims["exp"])
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    return claims if expires > now.timestamp() else None
