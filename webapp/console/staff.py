"""Staff accounts (admins only) and the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from shared.audit import recent
from shared.core import Core
from shared.inputs import MAX_BIGINT
from shared.staff import ROLES, create_staff, list_staff, set_password, update_staff
from webapp.console.pages import ADMIN_ONLY, current_staff, page


class StaffController(Controller):
    path = "/console/staff"
    opt = {"roles": ADMIN_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        async with core.reading() as session:
            accounts = await list_staff(session)
        return page(request, "console/staff.html.j2", accounts=accounts, roles=ROLES)

    @post("/", status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Redirect:
        form = await request.form()
        async with core.transaction() as session:
            await create_staff(
                session,
                core.clock,
                str(form.get("email") or ""),
                str(form.get("role") or ""),
                str(form.get("password") or ""),
                actor=current_staff(request).email,
            )
        return Redirect("/console/staff", status_code=303)

    @post("/{staff_id:int}", status_code=303)
    async def update(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], staff_id: FromPath[int]
    ) -> Redirect:
        form = await request.form()
        async with core.transaction() as session:
            await update_staff(
                session,
                core.clock,
                staff_id,
                role=str(form.get("role") or ""),
                active=form.get("active") == "yes",
                actor=current_staff(request).email,
            )
        return Redirect("/console/staff", status_code=303)

    @post("/{staff_id:int}/password", status_code=303)
    async def password(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], staff_id: FromPath[int]
    ) -> Redirect:
        """A new password for an account; every console session of that account ends."""
        form = await request.form()
        async with core.transaction() as session:
            await set_password(
                session,
                core.clock,
                staff_id,
                str(form.get("password") or "")[:1024],
                actor=current_staff(request).email,
            )
        return Redirect(
            "/console/staff" if staff_id != current_staff(request).id else "/console/login", status_code=303
        )


class AuditController(Controller):
    path = "/console/audit"
    opt = {"roles": ADMIN_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        before: int | None = Parameter(default=None, ge=1, le=MAX_BIGINT),
    ) -> Template:
        async with core.reading() as session:
            entries = await recent(session, limit=100, before_id=before)
        return page(request, "console/audit.html.j2", entries=entries)
