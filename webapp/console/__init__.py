"""The marketer console under /console: staff sign-in, reports, program settings, member tools, staff, audit."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import Provide
from litestar.response import Template

from webapp.console.auth import PasswordController, SignInController
from webapp.console.campaigns import CampaignsController
from webapp.console.chains import ChainsController
from webapp.console.login_limits import LoginLimits
from webapp.console.members import MembersController
from webapp.console.pages import EXCEPTION_HANDLERS, page
from webapp.console.program import ProgramController
from webapp.console.reports import ReportsController
from webapp.console.segments import SegmentsController
from webapp.console.session import console_guard
from webapp.console.staff import AuditController, StaffController


@get("/console", opt={"roles": None}, include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    return page(request, "console/home.html.j2")


def create_console_router() -> Router:
    limits = LoginLimits()
    guarded = Router(
        path="/",
        route_handlers=[
            home,
            ReportsController,
            ProgramController,
            MembersController,
            StaffController,
            AuditController,
            SegmentsController,
            CampaignsController,
            ChainsController,
        ],
        guards=[console_guard],
    )
    return Router(
        path="/",
        route_handlers=[SignInController, PasswordController, guarded],
        dependencies={"login_limits": Provide(lambda: limits, sync_to_thread=False)},  # core: the app's
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
