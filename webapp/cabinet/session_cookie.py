"""The cabinet's session: an HS256 JWT (PyJWT) in an HttpOnly, SameSite=Lax cookie, Secure unless
local plain-http development turned it off. Expiry is checked against the app's clock; a session
older than `rotate_minutes` is re-issued on the next page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar.datastructures import Cookie

from shared import signing
from shared.config import Settings

SESSION_COOKIE = "loyalty_session"
PHONE_COOKIE = "loyalty_phone"  # a phone proven by a code but not registered yet (10 minutes)
AUDIENCE = "cabinet"


@dataclass(frozen=True)
class CabinetSession:
    member_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    generation: int


def _cookie(settings: Settings, name: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=settings.cabinet.cookie_secure,
        samesite="lax",
    )


def session_cookie(settings: Settings, member_id: uuid.UUID, now: datetime, generation: int = 0) -> Cookie:
    """`generation` is the member's session generation: a sign-out moves it and so ends this session."""
    lifetime = settings.cabinet.session_minutes * 60
    token = signing.encode_claims(
        settings.secret,
        "cabinet:session",
        {
            "sub": str(member_id),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "gen": generation,
        },
    )
    return _cookie(settings, SESSION_COOKIE, token, lifetime)


def read_session(settings: Settings, token: str | None, now: datetime) -> CabinetSession | None:
    """The session in a cookie, or None when it is missing, forged, malformed or expired."""
    claims = signing.decode_claims(
        settings.secret, "cabinet:session", token, now, audience=AUDIENCE, require=("sub", "iat")
    )
    if claims is None:
        return None
    try:
        session = CabinetSession(
            uuid.UUID(claims["sub"]),
            datetime.fromtimestamp(int(claims["iat"]), now.tzinfo),
            datetime.fromtimestamp(int(claims["exp"]), now.tzinfo),
            int(claims.get("gen", -1)),
        )
    except (ValueError, TypeError):
        return None
    return session if session.expires_at > now >= session.issued_at - timedelta(minutes=5) else None


def needs_rotation(settings: Settings, session: CabinetSession, now: datetime) -> bool:
    return now - session.issued_at >= timedelta(minutes=settings.cabinet.rotate_minutes)


def phone_cookie(settings: Settings, phone: str, now: datetime) -> Cookie:
    token = signing.encode_claims(
        settings.secret,
        "cabinet:phone",
        {"phone": phone, "aud": AUDIENCE + ":phone", "exp": int(now.timestamp()) + 600},
    )
    return _cookie(settings, PHONE_COOKIE, token, 600)


def read_phone(settings: Settings, token: str | None, now: datetime) -> str | None:
    claims = signing.decode_claims(
        settings.secret, "cabinet:phone", token, now, audience=AUDIENCE + ":phone", require=("phone",)
    )
    return None if claims is None else str(claims["phone"])


def cleared(settings: Settings, name: str) -> Cookie:
    return Cookie(
        key=name,
        value="",
        max_age=0,
        expires=0,
        path="/",
        httponly=True,
        secure=settings.cabinet.cookie_secure,
        samesite="lax",
    )
