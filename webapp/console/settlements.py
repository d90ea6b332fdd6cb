"""Settlements in the console: a month's lines per partner with money each way and the formula, CSV,
and closing a month (admins). A partner's staff sees its own lines only, and its own stores."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from shared.core import Core
from shared.csv_export import csv_text
from shared.errors import NotFound
from shared.i18n import format_money
from shared.partners import agreements_of, get_partner, stores_of
from shared.settlement import FORMULA, Month, Settlement, close_month, csv_rows, settlement
from shared.staff import ADMIN, ANALYST, PARTNER
from webapp.console.pages import ADMIN_ONLY, console_language, current_staff, page

SEE_SETTLEMENTS = (ADMIN, ANALYST, PARTNER)
PARTNERS_ONLY = (PARTNER,)


async def _settlement(request: Request[Any, Any, Any], core: Core, period: str | None) -> Settlement:
    month = Month.parse(period) if period else Month.of(core.clock.now(), core.rules.zone)
    async with core.reading() as session:
        result = await settlement(session, month, core.rules.zone)
    staff = current_staff(request)
    if staff.role == PARTNER:  # a partner's people see their own lines, never the others' or the program's
        if staff.partner_id is None:
            raise NotFound("This account has no partner.")
        result = result.of_partner(staff.partner_id)
    return result


class SettlementsController(Controller):
    path = "/console/settlements"
    opt = {"roles": SEE_SETTLEMENTS}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        period: str | None = Parameter(default=None, max_length=8),
    ) -> Template:
        result = await _settlement(request, core, period)
        lang, currency = console_language(request), core.rules.currency
        return page(
            request,
            "console/settlements.html.j2",
            result=result,
            period=str(result.period),
            previous=str(result.period.previous()),
            following=str(result.period.next()),
            formula=FORMULA,
            money=lambda minor: format_money(minor, currency, lang),
            can_close=current_staff(request).role == ADMIN and result.closed_at is None,
        )

    @get("/{period:str}/csv")
    async def export(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], period: FromPath[str]
    ) -> Response[bytes]:
        result = await _settlement(request, core, period[:8])
        header, rows = csv_rows(result)
        return Response(
            csv_text(header, rows).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="settlement_{result.period}.csv"'},
        )

    @post("/{period:str}/close", status_code=303, opt={"roles": ADMIN_ONLY})
    async def close(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], period: FromPath[str]
    ) -> Redirect:
        month = Month.parse(period[:8])
        async with core.transaction() as session:
            await close_month(session, core.clock, month, core.rules.zone, actor=current_staff(request).email)
        return Redirect(f"/console/settlements?period={month}", status_code=303)


class PartnerPortalController(Controller):
    """A partner's own page: its stores and agreements (what its settlements are computed by)."""

    path = "/console/partner"
    opt = {"roles": PARTNERS_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        partner_id = current_staff(request).partner_id
        if partner_id is None:
            raise NotFound("This account has no partner.")
        zone = core.rules.zone
        async with core.reading() as session:
            partner = await get_partner(session, partner_id)
            stores = await stores_of(session, partner_id)
            agreements = await agreements_of(session, partner_id)
        return page(
            request,
            "console/partner_portal.html.j2",
            partner=partner,
            stores=stores,
            agreements=[
                {
                    "earn_percent": a.earn_percent,
                    "issue_price": a.issue_price,
                    "redeem_price": a.redeem_price,
                    "valid_from": a.valid_from.astimezone(zone).date(),
                    "valid_to": None if a.valid_to is None else a.valid_to.astimezone(zone).date(),
                }
                for a in agreements
            ],
        )
