"""Stores through /api/v1 (staff keys only): create or update a store by its code, list them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, QueryParameter
from sqlalchemy.exc import IntegrityError

from shared.core import Core
from shared.db.models import Store
from shared.inputs import MAX_ZONE
from shared.stores import MAX_ADDRESS, MAX_CODE, MAX_NAME, list_stores, parse_store, save_store
from webapp.api.bodies import CHECK, raw_body
from webapp.api.schemas.problems import also_200, problem_responses
from webapp.api.webhooks import STAFF
from webapp.deps import CoreDep

Code = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_CODE,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the id tills send as `store_id`",
        examples=["msk-001"],
    ),
]


class StoreIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ZONE, examples=["Europe/Moscow"])]
    address: Annotated[str, msgspec.Meta(max_length=MAX_ADDRESS)] | None = None
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None


class StoreOut(msgspec.Struct):
    code: str
    name: str
    time_zone: str
    address: str | None
    latitude: float | None
    longitude: float | None


class StorePage(msgspec.Struct):
    items: list[StoreOut]
    total: int
    limit: int
    offset: int


def store_view(store: Store) -> StoreOut:
    return StoreOut(store.id, store.name, store.time_zone, store.address, store.latitude, store.longitude)


def check_store(raw: dict[str, Any], core: Core) -> None:
    """The console's and the importer's check, so a refused body names the same fields the same way."""
    del core
    parse_store(raw)


class StoreController(Controller):
    path = "/api/v1/stores"
    tags = ("stores",)
    opt = STAFF

    @post(
        "/",
        status_code=201,
        summary="Create a store, or update the one with this code",
        description="201 with a new store; 200 when a store with this code existed and was updated.",
        opt={CHECK: check_store},
        operation_id="save_store",
        responses=also_200(StoreOut, "A store with this code existed: updated") | problem_responses(403, 422),
    )
    async def save(self, core: CoreDep, request: Request[Any, Any, Any], data: JSONBody[StoreIn]) -> Response[StoreOut]:
        del data  # bounded by its Struct; the one check of shared.stores reads the JSON as sent
        fields = parse_store(await raw_body(request))
        for attempt in (1, 2):  # two first saves of one code at once: the loser finds the store and updates it
            try:
                async with core.transaction() as session:
                    store, created, _ = await save_store(session, core.clock, fields, actor="api:staff-key")
                    view = store_view(store)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        return Response(view, status_code=201 if created else 200)

    @get(
        "/",
        summary="Stores by code, optionally those whose code or name contains `q`",
        operation_id="list_stores",
        responses=problem_responses(403, 422),
    )
    async def index(
        self,
        core: CoreDep,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> StorePage:
        async with core.reading() as session:
            rows, total = await list_stores(session, q or "", limit=limit, offset=offset)
            return StorePage([store_view(s) for s in rows], total, limit, offset)
