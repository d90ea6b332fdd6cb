"""The marketer console under /console: staff sign-in, reports, program settings, member tools, staff, audit."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template

from shared.core import Core
from shared.staff import set_language
from webapp.console.auth import PasswordController, SignInController
from webapp.console.campaigns import CampaignsController
from webapp.console.chains import ChainsController
from webapp.console.login_limits import LoginLimits
from webapp.console.members import MembersController
from webapp.console.pages import EXCEPTION_HANDLERS, current_staff, page
from webapp.console.partners import PartnersController
from webapp.console.program import ProgramController
from webapp.console.reports import ReportsController
from webapp.console.segments import SegmentsController
from webapp.console.session import console_guard
from webapp.console.settlements import PartnerPortalController, SettlementsController
from webapp.console.staff import AuditController, StaffController
from webapp.console.stores import StoresController
from webapp.console.webhooks import WebhooksController


@get("/console", opt={"roles": None}, include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    return page(request, "console/home.html.j2")


@post("/console/language", opt={"roles": None}, include_in_schema=False, status_code=303)
async def pick_language(request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Redirect:
    """The language picker in the header: the choice is kept on the staff account and wins over the browser."""
    form = await request.form()
    language = str(form.get("language") or "")[:8] or None
    async with core.transaction() as session:
        await set_language(session, current_staff(request).id, language)
    back = str(form.get("back") or "")[:500]
    safe = back.startswith("/console") and "//" not in back and "\\" not in back
    return Redirect(back if safe else "/console", status_code=303)


def create_console_router() -> Router:
    limits = LoginLimits()
    guarded = Router(
        path="/",
        route_handlers=[
            home,
            pick_language,
            ReportsController,
            ProgramController,
            MembersController,
            StaffController,
            AuditController,
            SegmentsController,
            CampaignsController,
            ChainsController,
            WebhooksController,
            StoresController,
            PartnersController,
            SettlementsController,
            PartnerPortalController,
        ],
        guards=[console_guard],
    )
    return Router(
        path="/",
        route_handlers=[SignInController, PasswordController, guarded],
        dependencies={"login_limits": Provide(lambda: limits, sync_to_thread=False)},  # core: the app's
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
