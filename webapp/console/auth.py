"""Sign in with e-mail and password (failures delayed per account+address and per address, see
login_limits.py), sign out (ends every copy of the session)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from shared.core import Core
from shared.i18n import ngettext
from shared.inputs import has_control
from shared.ratelimit import rate_limits
from shared.staff import MIN_PASSWORD, authenticate, end_sessions, set_password, view
from webapp.console.login_limits import LoginLimits
from webapp.console.pages import _, console_language, current_staff, page
from webapp.console.session import clear_cookie, console_guard, issue_cookie, session_claims, signed_in


class SignInController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if await signed_in(request) is not None:
            return Redirect("/console", status_code=303)
        return page(request, "console/login.html.j2", email="", message=None)

    @post("/login", status_code=303)
    async def login(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], login_limits: NamedDependency[LoginLimits]
    ) -> Any:
        form = await request.form()
        email = str(form.get("email") or "").strip().lower()[:254]
        password = str(form.get("password") or "")[:1024]
        if has_control(email):  # never reaches the database (PostgreSQL refuses NUL in text)
            return page(
                request,
                "console/login.html.j2",
                status_code=422,
                email="",
                message="The e-mail address has characters an address cannot have.",
            )
        address = (request.client.host if request.client else "-")[:64]
        limits, now = rate_limits(core), core.clock.now()
        wait = await login_limits.wait_seconds(limits, email, address, now)
        if wait:
            response = page(
                request,
                "console/login.html.j2",
                status_code=429,
                email=email,
                message=_(
                    request,
                    "Too many failed attempts from here. Wait {duration} and try again.",
                    duration=_duration(request, wait),
                ),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        async with core.transaction() as session:
            account = await authenticate(session, core.clock, email, password) if email and password else None
            staff = view(account) if account is not None else None
        if staff is None:
            await login_limits.failed(limits, email, address, now)
            return page(
                request,
                "console/login.html.j2",
                status_code=401,
                email=email,
                message=_(request, "Wrong e-mail or password."),
            )
        await login_limits.succeeded(limits, email, address)
        return Redirect("/console", status_code=303, cookies=[issue_cookie(core, staff)])

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Redirect:
        """Ends this session and every copy of it: the account's session generation moves on."""
        claims = session_claims(request)
        if claims is not None:
            async with core.transaction() as session:
                await end_sessions(session, int(claims["sub"]), int(claims["gen"]))
        return Redirect("/console/login", status_code=303, cookies=[clear_cookie()])


class PasswordController(Controller):
    """Anyone signed in changes their own password; every other session of theirs ends."""

    path = "/console/password"
    guards = [console_guard]  # noqa: RUF012 - Litestar's layered options
    opt = {"roles": None}  # noqa: RUF012
    include_in_schema = False

    @get("/")
    async def form(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "console/password.html.j2", message=None)

    @post("/", status_code=303)
    async def change(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], login_limits: NamedDependency[LoginLimits]
    ) -> Any:
        form = await request.form()
        current, new = str(form.get("current") or "")[:1024], str(form.get("password") or "")[:1024]
        staff = current_staff(request)
        address = (request.client.host if request.client else "-")[:64]
        limits, now = rate_limits(core), core.clock.now()
        if new != str(form.get("repeat") or "")[:1024]:
            return page(
                request,
                "console/password.html.j2",
                status_code=422,
                message=_(request, "The new password and its repetition differ."),
            )
        if len(new) < MIN_PASSWORD:
            return page(
                request,
                "console/password.html.j2",
                status_code=422,
                message=_(request, "The new password needs at least {n} characters.", n=MIN_PASSWORD),
            )
        if wait := await login_limits.wait_seconds(limits, staff.email, address, now):
            response = page(
                request,
                "console/password.html.j2",
                status_code=429,
                message=_(
                    request,
                    "Too many failed attempts from here. Wait {duration} and try again.",
                    duration=_duration(request, wait),
                ),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        async with core.transaction() as session:
            account = await authenticate(session, core.clock, staff.email, current) if current else None
            if account is not None and account.id == staff.id:
                account = await set_password(session, core.clock, staff.id, new, actor=staff.email)
                fresh = view(account)
            else:
                fresh = None
        if fresh is None:  # a stolen cookie must not turn into a password by guessing: counted like sign-ins
            await login_limits.failed(limits, staff.email, address, now)
            return page(
                request,
                "console/password.html.j2",
                status_code=401,
                message=_(request, "The current password is wrong."),
            )
        return Redirect("/console", status_code=303, cookies=[issue_cookie(core, fresh)])


def _duration(request: Request[Any, Any, Any], seconds: int) -> str:
    language = console_language(request)
    if seconds < 120:
        return ngettext(language, "{n} second", "{n} seconds", seconds)
    return ngettext(language, "{n} minute", "{n} minutes", (seconds + 59) // 60)
