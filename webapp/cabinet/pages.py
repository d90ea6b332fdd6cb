"""Card, balance, history and offers: what a member looks at, read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select

from shared import i18n, ledger
from shared.balance import balance_view
from shared.core import Core
from shared.db.models import Entry, Store
from shared.i18n import format_money
from shared.inputs import MAX_BIGINT
from shared.offers.personal import CONTEXT as OFFERS_CONTEXT
from shared.offers.personal import offer_text, offers_of
from shared.provenance import place_text, with_place
from wallet.links import wallet_links
from webapp.cabinet.auth import SignedIn, provide_member
from webapp.cabinet.card_codes import ean13_svg, qr_svg
from webapp.cabinet.texts import translator
from webapp.cabinet.views import local_time, render
from webapp.deps import CoreDep, SettingsDep

HISTORY_PAGE = 20


async def balance_context(request: HTMXRequest, member: SignedIn, core: Core) -> dict[str, Any]:
    now = core.clock.now()
    async with core.reading() as db:
        view = await balance_view(db, core.rules, member, now, language=member.language)
        pending = await ledger.pending_lots(db, member.id)
    tier = view["tier"]
    progress = None
    if tier["next"] is not None:
        threshold = core.rules.tier(tier["next"]["code"]).threshold * 100
        needed = tier["next"]["spend_needed"]
        progress = {
            "percent": round(100 * (1 - needed / threshold)) if threshold else 100,
            "needed": format_money(needed, core.rules.currency, member.language),
            "next": tier["next"]["name"],
        }
    when = "%d.%m.%Y %H:%M" if member.language == "ru" else "%d %b %Y %H:%M"
    day = "%d.%m.%Y" if member.language == "ru" else "%d %b %Y"
    return {
        "balance": view,
        "progress": progress,
        "as_of": local_time(request, member, now, when),
        "pending_lots": [
            {"points": lot.points, "date": local_time(request, member, lot.available_at, when)} for lot in pending
        ],
        "expiring": [
            {
                "points": lot["points"],
                "date": local_time(request, member, datetime.fromisoformat(lot["expires_at"]), day),
            }
            for lot in view["expiring"]
        ],
    }


class PagesController(Controller):
    path = "/cabinet"
    include_in_schema = False
    dependencies = {"member": Provide(provide_member)}  # noqa: RUF012 - Litestar reads a class attribute

    @get("/")
    async def home(self) -> Redirect:
        return Redirect("/cabinet/card", status_code=303)

    @get("/card")
    async def card(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        """The till page: number, codes and the balance as of now, from the member row alone (one query)."""
        t = translator(member.language)
        when = "%d.%m.%Y %H:%M" if member.language == "ru" else "%d %b %Y %H:%M"
        return render(
            request,
            "card",
            member=member,
            balance={"available": member.available},
            as_of=local_time(request, member, core.clock.now(), when),
            qr=qr_svg(member.card_number, t("qr_alt", card=member.card_number)),
            barcode=ean13_svg(member.card_number, t("barcode_alt", card=member.card_number)),
        )

    @get("/wallet/{kind:str}")
    async def wallet(self, core: CoreDep, settings: SettingsDep, member: SignedIn, kind: FromPath[str]) -> Redirect:
        """The wallet buttons sign their links on click: a Google save link costs an RSA signature."""
        if kind not in ("apple", "google"):
            raise NotFoundException("no such wallet")
        links = wallet_links(settings, member, core.clock.now())
        return Redirect(links[f"{kind}_url"], status_code=303)

    @get("/balance")
    async def balance(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        return render(request, "balance", member=member, **await balance_context(request, member, core))

    @get("/history")
    async def history(
        self,
        request: HTMXRequest,
        core: CoreDep,
        member: SignedIn,
        before: int | None = Parameter(default=None, ge=1, le=MAX_BIGINT),
    ) -> Template:
        """Newest first, a page at a time; htmx asks for the next page when the last row scrolls in."""
        # a receipt's row shows the time on the store's clock (where the member was), the rest the member's
        query = with_place(select(Entry, Store.time_zone)).where(Entry.member_id == member.id)
        if before is not None:
            query = query.where(Entry.id < before)
        async with core.reading() as db:
            found = (await db.execute(query.order_by(Entry.id.desc()).limit(HISTORY_PAGE + 1))).all()
        rows = [found_row[0] for found_row in found]
        zones = {entry.id: zone for entry, zone, *_ in found}
        places = {
            entry.id: place_text(member.language, store_id, store_name, partner_name)
            for entry, _, store_id, store_name, _, partner_name in found
        }
        more = rows[HISTORY_PAGE].id + 1 if len(rows) > HISTORY_PAGE else None
        fmt = "%d.%m.%Y %H:%M" if member.language == "ru" else "%d %b %Y %H:%M"
        entries = [
            {
                "id": row.id,
                "kind": row.kind,
                "points": row.points,
                "comment": row.comment,
                "place": places[row.id],
                "date": local_time(request, member, row.created_at, fmt, zones[row.id]),
            }
            for row in rows[:HISTORY_PAGE]
        ]
        return render(
            request,
            "history",
            member=member,
            entries=entries,
            more=more,
            fragment="partials/history_rows.html.j2" if before is not None else None,
        )

    @get("/offers")
    async def offers(self, request: HTMXRequest, core: CoreDep, member: SignedIn) -> Template:
        rules = core.rules
        tiers = [
            {
                "name": tier.title(member.language),
                "threshold": format_money(tier.threshold * 100, rules.currency, member.language),
                "percent": tier.accrual_percent,
            }
            for tier in rules.tiers
        ]
        async with core.reading() as session:
            mine = await offers_of(session, member.id, core.clock.now())
        personal = [offer_text(offer, rules, member.language) for offer in mine]
        return render(
            request,
            "offers",
            member=member,
            rules=rules,
            tiers=tiers,
            personal=personal,
            personal_title=i18n.text(member.language, OFFERS_CONTEXT, "title"),
        )
