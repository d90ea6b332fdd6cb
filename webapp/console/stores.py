"""Stores in the console (admins only): a searchable list, a new store, a store's edit form. The code is
what tills send as `store_id`, so it is set once and never edited; every change is audited."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from shared.core import Core
from shared.db.models import Store
from shared.errors import DomainError, FieldError, InvalidInput, NotFound
from shared.partners import partner_names
from shared.stores import FIELDS, MAX_CODE, get_store, list_stores, parse_store, save_store
from webapp.console.pages import ADMIN_ONLY, current_staff, page

PAGE = 50


def _values(form: Any) -> dict[str, str]:
    return {name: str(form.get(name) or "")[:1000] for name in FIELDS}


def _values_of(store: Store) -> dict[str, str]:
    return {
        "code": store.id,
        "name": store.name,
        "time_zone": store.time_zone,
        "address": store.address or "",
        "latitude": "" if store.latitude is None else f"{store.latitude:g}",
        "longitude": "" if store.longitude is None else f"{store.longitude:g}",
    }


class StoresController(Controller):
    path = "/console/stores"
    opt = {"roles": ADMIN_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    async def _list(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        q: str = "",
        offset: int = 0,
        values: dict[str, str] | None = None,
        problem: DomainError | None = None,
    ) -> Template:
        async with core.reading() as session:
            stores, total = await list_stores(session, q, limit=PAGE, offset=offset)
            partners = await partner_names(session) if any(s.partner_id for s in stores) else {}
        return page(
            request,
            "console/stores.html.j2",
            status_code=problem.status if problem else 200,
            stores=stores,
            partners=partners,
            total=total,
            q=q[:100],
            offset=offset,
            limit=PAGE,
            values=values or {},
            problem=problem,
            fields={e.field: e.message for e in problem.errors} if problem else {},
        )

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        core: NamedDependency[Core],
        q: str = Parameter(default="", max_length=100),
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> Template:
        return await self._list(request, core, q, offset)

    @post("/", status_code=303)
    async def create(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template | Redirect:
        values = _values(await request.form())
        try:
            fields = parse_store(values)
            async with core.transaction() as session:
                if await get_store(session, fields.code) is not None:
                    raise InvalidInput(
                        "A store with this code exists: edit it instead.",
                        [FieldError("code", "already used by another store")],
                    )
                await save_store(session, core.clock, fields, actor=current_staff(request).email)
        except DomainError as exc:
            return await self._list(request, core, values=values, problem=exc)
        return Redirect("/console/stores", status_code=303)

    @get("/{code:str}")
    async def show(self, request: Request[Any, Any, Any], core: NamedDependency[Core], code: FromPath[str]) -> Template:
        async with core.reading() as session:
            store = await get_store(session, code[: MAX_CODE + 1])
        if store is None:
            raise NotFound("No such store.")
        return page(request, "console/store.html.j2", code=store.id, values=_values_of(store), problem=None, fields={})

    @post("/{code:str}", status_code=303)
    async def update(
        self, request: Request[Any, Any, Any], core: NamedDependency[Core], code: FromPath[str]
    ) -> Template | Redirect:
        values = {**_values(await request.form()), "code": code[: MAX_CODE + 1]}
        try:
            fields = parse_store(values)
            async with core.transaction() as session:
                if await get_store(session, fields.code) is None:
                    raise NotFound("No such store.")
                await save_store(session, core.clock, fields, actor=current_staff(request).email)
        except NotFound:
            raise
        except DomainError as exc:
            return page(
                request,
                "console/store.html.j2",
                status_code=exc.status,
                code=values["code"],
                values=values,
                problem=exc,
                fields={e.field: e.message for e in exc.errors},
            )
        return Redirect("/console/stores", status_code=303)
