"""The console session: a short-lived JWT (HS256, settings.secret) in an HttpOnly, Secure, SameSite=Strict
cookie; every request re-reads the account, so a changed role or a deactivation applies at once.

The token carries the account's session generation ("gen") and the moment of sign-in ("auth"). Sign-out,
a new password, a role change and a deactivation move the generation, which ends every copy of every
session of that person; pages renew an idle session, but never past the absolute lifetime
(LOYALTY_CONSOLE_SESSION_MAX_HOURS, 12 h by default) counted from the sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from shared.core import Core
from shared.staff import StaffView, active_staff, view

COOKIE = "console_session"
LIFETIME = timedelta(minutes=30)
AUDIENCE = "loyalty-console"


def issue_cookie(core: Core, staff: StaffView, started: datetime | None = None) -> Cookie:
    """A session cookie; `started` is the sign-in a renewal belongs to (None: signing in now)."""
    now = core.clock.now()
    started = started or now
    expires = min(now + LIFETIME, started + timedelta(hours=core.settings.console_session_max_hours))
    token = jwt.encode(
        {
            "sub": str(staff.id),
            "role": staff.role,
            "aud": AUDIENCE,
            "iat": now,
            "auth": int(started.timestamp()),
            "gen": staff.generation,
            "exp": expires,
        },
        core.settings.secret,
        algorithm="HS256",
    )
    return Cookie(
        key=COOKIE,
        value=token,
        path="/console",
        httponly=True,
        secure=True,
        samesite="strict",
        max_age=max(1, int((expires - now).total_seconds())),
    )


def clear_cookie() -> Cookie:
    return Cookie(key=COOKIE, value="", path="/console", httponly=True, secure=True, samesite="strict", max_age=0)


def _claims(core: Core, token: str) -> dict[str, Any] | None:
    """The claims of a well-formed, unexpired session token of the current format, else None."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            core.settings.secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud", "auth", "gen"], "verify_iat": False, "verify_exp": False},
            leeway=0,
        )
        if not str(claims["sub"]).isdigit() or len(str(claims["sub"])) > 18:
            return None
        expires, started, _ = float(claims["exp"]), float(claims["auth"]), int(claims["gen"])
    except (jwt.InvalidTokenError, TypeError, ValueError, OverflowError):
        return None
    # Our clock, not the wall clock, decides expiry (tests and "as of" runs use a fixed one).
    now = core.clock.now().timestamp()
    if expires <= now or started + core.settings.console_session_max_hours * 3600 <= now:
        return None
    return claims


def session_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any] | None:
    token = connection.cookies.get(COOKIE)
    return _claims(connection.app.state.core, token) if token else None


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffView | None:
    core: Core = connection.app.state.core
    claims = session_claims(connection)
    if claims is None:
        return None
    async with core.reading() as session:
        account = await active_staff(session, int(claims["sub"]))
    if account is None or account.session_generation != int(claims["gen"]):
        return None  # signed out, new password, new role or deactivated since this cookie was issued
    # Past half its life, pages hand out a fresh cookie (up to the absolute lifetime): an active person
    # stays signed in.
    connection.state.renew_session = float(claims["exp"]) - core.clock.now().timestamp() < LIFETIME.total_seconds() / 2
    connection.state.session_started = datetime.fromtimestamp(float(claims["auth"]), core.clock.now().tzinfo)
    return view(account)


async def console_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Signed in, with one of the roles the handler (or its controller) lists in opt["roles"]."""
    staff = await signed_in(connection)
    if staff is None:
        raise NotAuthorizedException("Sign in to the console.")
    connection.state.staff = staff
    roles = handler.opt.get("roles")
    if roles is not None and staff.role not in roles:
        raise PermissionDeniedException("Your role does not allow this page.")
