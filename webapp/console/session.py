"""The console session: a short-lived JWT (HS256, settings.secret) in an HttpOnly, Secure, SameSite=Strict
cookie; every request re-reads the account, so a changed role or a deactivation applies at once."""

from __future__ import annotations

from datetime import timedelta
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


def issue_cookie(core: Core, staff: StaffView) -> Cookie:
    now = core.clock.now()
    token = jwt.encode({"sub": str(staff.id), "role": staff.role, "aud": AUDIENCE, "iat": now,
                        "exp": now + LIFETIME}, core.settings.secret, algorithm="HS256")
    return Cookie(key=COOKIE, value=token, path="/console", httponly=True, secure=True, samesite="strict",
                  max_age=int(LIFETIME.total_seconds()))


def clear_cookie() -> Cookie:
    return Cookie(key=COOKIE, value="", path="/console", httponly=True, secure=True, samesite="strict", max_age=0)


def _claims(core: Core, token: str) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, core.settings.secret, algorithms=["HS256"], audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"], "verify_iat": False, "verify_exp": False},
            leeway=0,
        )
    except jwt.InvalidTokenError:
        return None
    # Our clock, not the wall clock, decides expiry (tests and "as of" runs use a fixed one).
    if int(claims["exp"]) <= core.clock.now().timestamp():
        return None
    return claims


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffView | None:
    core: Core = connection.app.state.core
    token = connection.cookies.get(COOKIE)
    claims = _claims(core, token) if token else None
    if claims is None or not str(claims["sub"]).isdigit():
        return None
    # Past half its life, pages hand out a fresh cookie: an active person stays signed in.
    connection.state.renew_session = int(claims["exp"]) - core.clock.now().timestamp() < LIFETIME.total_seconds() / 2
    async with core.reading() as session:
        account = await active_staff(session, int(claims["sub"]))
    return view(account) if account is not None else None


async def console_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Signed in, with one of the roles the handler (or its controller) lists in opt["roles"]."""
    staff = await signed_in(connection)
    if staff is None:
        raise NotAuthorizedException("Sign in to the console.")
    connection.state.staff = staff
    roles = handler.opt.get("roles")
    if roles is not None and staff.role not in roles:
        raise PermissionDeniedException("Your role does not allow this page.")
