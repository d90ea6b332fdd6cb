"""Coalition partners in the console (admins only): the list, a new partner, and each partner's page
with its agreements, stores, till keys (shown once) and staff accounts. Every change is audited."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from shared.core import Core
from shared.db.models.console import StaffAccount
from shared.errors import DomainError, FieldError, InvalidInput, NotFound
from shared.inputs import MAX_BIGINT
from shared.partners import (
    add_agreement,
    agreements_of,
    assign_store,
    create_partner_key,
    end_agreement,
    get_partner,
    list_partners,
    parse_agreement,
    parse_partner,
    save_partner,
    stores_of,
)
from shared.staff import PARTNER, create_staff
from shared.stores import MAX_CODE, get_store
from webapp.console.pages import ADMIN_ONLY, current_staff, page

PAGE = 50
PARTNER_ID = Parameter(ge=1, le=MAX_BIGINT)


def _form(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name) or "")[:1000] for name in names}


class PartnersController(Controller):
    path = "/console/partners"
    opt = {"roles": ADMIN_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    async def _list(
        self, request: Request[Any, Any, Any], core: Core, offset: int = 0, problem: DomainError | None = None
    ) -> Template:
        async with core.reading() as session:
            partners, total = await list_partners(session, limit=PAGE, offset=offset)
        return page(
            request,
            "console/partners.html.j2",
            status_code=problem.status if problem else 200,
            partners=partners,
            total=total,
            offset=offset,
            limit=PAGE,
            problem=problem,
        )

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> Template:
        return await self._list(request, core, offset)

    @post("/", status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template | Redirect:
        values = _form(await request.form(), "code", "name")
        try:
            fields = parse_partner(values)
            async with core.transaction() as session:
                partner = await save_partner(session, core.clock, fields, actor=current_staff(request).email)
        except DomainError as exc:
            return await self._list(request, core, problem=exc)
        return Redirect(f"/console/partners/{partner.id}", status_code=303)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        partner_id: int,
        *,
        problem: DomainError | None = None,
        new_key: str | None = None,
    ) -> Template:
        async with core.reading() as session:
            partner = await get_partner(session, partner_id)
            agreements = await agreements_of(session, partner_id)
            stores = await stores_of(session, partner_id)
            accounts = list(
                (
                    await session.execute(
                        select(StaffAccount).where(StaffAccount.partner_id == partner_id).order_by(StaffAccount.email)
                    )
                ).scalars()
            )
        zone = core.rules.zone
        return page(
            request,
            "console/partner.html.j2",
            status_code=problem.status if problem else 200,
            partner=partner,
            agreements=[
                {
                    "id": a.id,
                    "earn_percent": a.earn_percent,
                    "issue_price": a.issue_price,
                    "redeem_price": a.redeem_price,
                    "valid_from": a.valid_from.astimezone(zone).date(),
                    "valid_to": None if a.valid_to is None else (a.valid_to.astimezone(zone).date()),
                }
                for a in agreements
            ],
            stores=stores,
            accounts=accounts,
            problem=problem,
            new_key=new_key,
        )

    @get("/{partner_id:int}")
    async def show(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template:
        return await self._show(request, core, partner_id)

    @post("/{partner_id:int}", status_code=303)
    async def update(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template | Redirect:
        form = await request.form()
        try:
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                values = {"code": partner.code, "name": str(form.get("name") or "")[:1000]}
                fields = parse_partner({**values, "active": form.get("active") == "yes"})
                await save_partner(
                    session, core.clock, fields, actor=current_staff(request).email, partner_id=partner_id
                )
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        core.store_partners.forget()  # switched off or on: its keys follow at once in this process
        return Redirect(f"/console/partners/{partner_id}", status_code=303)

    @post("/{partner_id:int}/agreements", status_code=303)
    async def agreement(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template | Redirect:
        values = _form(await request.form(), "earn_percent", "issue_price", "redeem_price", "valid_from", "valid_to")
        try:
            fields = parse_agreement(values)
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                await add_agreement(
                    session, core.clock, partner, fields, core.rules.zone, actor=current_staff(request).email
                )
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        return Redirect(f"/console/partners/{partner_id}", status_code=303)

    @post("/{partner_id:int}/agreements/{agreement_id:int}/end", status_code=303)
    async def end(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        agreement_id: FromPath[int],
        partner_id: int = PARTNER_ID,
    ) -> Template | Redirect:
        values = _form(await request.form(), "last_day")
        try:
            fields = parse_agreement({"issue_price": 0, "redeem_price": 0, "valid_from": values["last_day"]})
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                await end_agreement(
                    session,
                    core.clock,
                    partner,
                    agreement_id,
                    fields.valid_from,
                    core.rules.zone,
                    actor=current_staff(request).email,
                )
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        return Redirect(f"/console/partners/{partner_id}", status_code=303)

    @post("/{partner_id:int}/stores", status_code=303)
    async def store(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template | Redirect:
        """Add a store to the partner (`code`), or give one back to the retailer (`release` = its code)."""
        form = await request.form()
        code = str(form.get("code") or form.get("release") or "").strip()[: MAX_CODE + 1]
        try:
            if not code:
                raise InvalidInput("Name the store by its code.", [FieldError("code", "is required")])
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                releasing = bool(form.get("release"))
                if releasing:
                    found = await get_store(session, code)
                    if found is None or found.partner_id != partner_id:
                        raise NotFound("That store is not this partner's.")
                await assign_store(
                    session, core.clock, code, None if releasing else partner, actor=current_staff(request).email
                )
            core.store_partners.forget(code)
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        return Redirect(f"/console/partners/{partner_id}", status_code=303)

    @post("/{partner_id:int}/keys", status_code=200)
    async def key(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template:
        """A till key of the partner: shown on this page once, never again (only its hash is kept)."""
        name = str((await request.form()).get("name") or "")[:1000]
        try:
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                key = await create_partner_key(session, core.clock, partner, name, actor=current_staff(request).email)
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        return await self._show(request, core, partner_id, new_key=key)

    @post("/{partner_id:int}/staff", status_code=303)
    async def staff(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], partner_id: int = PARTNER_ID
    ) -> Template | Redirect:
        """A console account for the partner's people: the `partner` role, bound to this partner."""
        values = _form(await request.form(), "email", "password")
        try:
            async with core.transaction() as session:
                partner = await get_partner(session, partner_id)
                await create_staff(
                    session,
                    core.clock,
                    values["email"],
                    PARTNER,
                    values["password"][:1024],
                    actor=current_staff(request).email,
                    partner_id=partner.id,
                )
        except DomainError as exc:
            return await self._show(request, core, partner_id, problem=exc)
        return Redirect(f"/console/partners/{partner_id}", status_code=303)
