"""The cabinet's session: an HS256 JWT (PyJWT) in an HttpOnly, SameSite=Lax cookie, Secure unless
local plain-http development turned it off. Expiry is checked against the app's clock; a session
older than `rotate_minutes` is re-issued on the next page."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from litestar.datastructures import Cookie

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


def _key(settings: Settings, purpose: str) -> bytes:
    return hmac.new(settings.secret.encode(), f"cabinet:{purpose}".encode(), hashlib.sha256).digest()


def _cookie(settings: Settings, name: str, value: str, max_age: int) -> Cookie:
    return Cookie(key=name, value=value, max_age=max_age, path="/", httponly=True,
                  secure=settings.cabinet.cookie_secure, samesite="lax")


def session_cookie(settings: Settings, member_id: uuid.UUID, now: datetime, generation: int = 0) -> Cookie:
    """`generation` is the member's session generation: a sign-out moves it and so ends this session."""
    lifetime = settings.cabinet.session_minutes * 60
    token = jwt.encode({"sub": str(member_id), "aud": AUDIENCE, "iat": int(now.timestamp()),
                        "exp": int(now.timestamp()) + lifetime, "gen": generation},
                       _key(settings, "session"), algorithm="HS256")
    return _cookie(settings, SESSION_COOKIE, token, lifetime)


def read_session(settings: Settings, token: str | None, now: datetime) -> CabinetSession | None:
    """The session in a cookie, or None when it is missing, forged, malformed or expired."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, _key(settings, "session"), algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["sub", "iat", "exp"], "verify_exp": False, "verify_iat": False})
        session = CabinetSession(uuid.UUID(claims["sub"]), datetime.fromtimestamp(int(claims["iat"]), now.tzinfo),
                                 datetime.fromtimestamp(int(claims["exp"]), now.tzinfo), int(claims.get("gen", -1)))
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    return session if session.expires_at > now >= session.issued_at - timedelta(minutes=5) else None


def needs_rotation(settings: Settings, session: CabinetSession, now: datetime) -> bool:
    return now - session.issued_at >= timedelta(minutes=settings.cabinet.rotate_minutes)


def phone_cookie(settings: Settings, phone: str, now: datetime) -> Cookie:
    token = jwt.encode({"phone": phone, "aud": AUDIENCE + ":phone", "exp": int(now.timestamp()) + 600},
                       _key(settings, "phone"), algorithm="HS256")
    return _cookie(settings, PHONE_COOKIE, token, 600)


def read_phone(settings: Settings, token: str | None, now: datetime) -> str | None:
    if not token:
        return None
    try:
        claims = jwt.decode(token, _key(settings, "phone"), algorithms=["HS256"], audience=AUDIENCE + ":phone",
                            options={"require": ["phone", "exp"], "verify_exp": False})
    except jwt.InvalidTokenError:
        return None
    return str(claims["phone"]) if int(claims["exp"]) > now.timestamp() else None


def cleared(settings: Settings, name: str) -> Cookie:
    return Cookie(key=name, value="", max_age=0, expires=0, path="/", httponly=True,
                  secure=settings.cabinet.cookie_secure, samesite="lax")
