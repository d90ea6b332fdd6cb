"""Sign in with e-mail and password (failures limited per account and IP), sign out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from shared.core import Core
from shared.inputs import has_control
from shared.staff import authenticate, view
from webapp.console.login_limits import LoginLimits
from webapp.console.pages import page
from webapp.console.session import clear_cookie, issue_cookie, signed_in


class SignInController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if await signed_in(request) is not None:
            return Redirect("/console", status_code=303)
        return page(request, "console/login.html.j2", email="", message=None)

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any], core: Core, login_limits: LoginLimits) -> Any:
        form = await request.form()
        email = str(form.get("email") or "").strip().lower()[:254]
        password = str(form.get("password") or "")[:1024]
        if has_control(email):  # never reaches the database (PostgreSQL refuses NUL in text)
            return page(request, "console/login.html.j2", status_code=422, email="",
                        message="The e-mail address has characters an address cannot have.")
        address = request.client.host if request.client else "-"
        if login_limits.blocked(email, address):
            return page(request, "console/login.html.j2", status_code=429, email=email,
                        message="Too many failed attempts. Wait 15 minutes and try again.")
        async with core.transaction() as session:
            account = await authenticate(session, core.clock, email, password) if email and password else None
            staff = view(account) if account is not None else None
        if staff is None:
            login_limits.failed(email, address)
            return page(request, "console/login.html.j2", status_code=401, email=email,
                        message="Wrong e-mail or password.")
        login_limits.succeeded(email)
        return Redirect("/console", status_code=303, cookies=[issue_cookie(core, staff)])

    @post("/logout", status_code=303)
    async def logout(self) -> Redirect:
        return Redirect("/console/login", status_code=303, cookies=[clear_cookie()])
