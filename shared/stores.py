"""Stores: one check for a store's fields (console, CSV import and API alike), upsert by code with an
audit row, and a searchable list. A store's code is the `store_id` tills send."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import record
from shared.clock import Clock
from shared.db.models import Store
from shared.errors import FieldErrors
from shared.inputs import text_problem, zone_problem

MAX_CODE = 64  # stores.id, and the `store_id` of receipts
MAX_NAME = 200
MAX_ADDRESS = 300
MAX_SEARCH = 100
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # not "." or "..": a code is a URL segment
CODE_MESSAGE = f"1 to {MAX_CODE} characters: letters A-Z, digits, '_', '.', '-', first a letter or digit"
FIELDS = ("code", "name", "time_zone", "address", "latitude", "longitude")


@dataclass(frozen=True)
class StoreFields:
    code: str
    name: str
    time_zone: str
    address: str | None
    latitude: float | None
    longitude: float | None


def _coordinate(problems: FieldErrors, name: str, raw: object, bound: float) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        problems.add(name, "must be a number")
        return None
    try:
        value = float(raw.strip()[:40]) if isinstance(raw, str) else float(raw)
    except (ValueError, OverflowError):
        problems.add(name, "must be a number")
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.add(name, f"must be from {-bound:g} to {bound:g}")
        return None
    return value


def text_field(
    problems: FieldErrors, raw: Mapping[str, object], name: str, limit: int, *, required: bool
) -> str | None:
    """A stripped one-line text field of at most `limit` characters (None when empty); problems noted."""
    value = raw.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.add(name, "must be text")
        return None
    value = value.strip()
    if not value:
        if required:
            problems.add(name, "is required")
        return None
    if problem := text_problem(value, limit):
        problems.add(name, problem)
        return None
    return value


def parse_store(raw: Mapping[str, object]) -> StoreFields:
    """A store's fields from a form, a CSV row or a JSON body; every problem at once as InvalidInput."""
    problems = FieldErrors()
    code = text_field(problems, raw, "code", MAX_CODE, required=True)
    if code is not None and not (code.isascii() and CODE_RE.fullmatch(code)):
        problems.add("code", CODE_MESSAGE)
    name = text_field(problems, raw, "name", MAX_NAME, required=True)
    zone = raw.get("time_zone")
    zone = zone.strip() if isinstance(zone, str) else ""
    if zone_message := zone_problem(zone):
        problems.add("time_zone", zone_message)
    address = text_field(problems, raw, "address", MAX_ADDRESS, required=False)
    latitude = _coordinate(problems, "latitude", raw.get("latitude"), 90)
    longitude = _coordinate(problems, "longitude", raw.get("longitude"), 180)
    if not problems.items and (latitude is None) != (longitude is None):
        problems.add("longitude" if longitude is None else "latitude", "give both coordinates or neither")
    problems.raise_if_any("Some store fields are invalid.")
    assert code is not None
    assert name is not None
    return StoreFields(code, name, zone, address, latitude, longitude)


def _fields_of(store: Store) -> dict[str, Any]:
    return {
        "code": store.id,
        "name": store.name,
        "time_zone": store.time_zone,
        "address": store.address,
        "latitude": store.latitude,
        "longitude": store.longitude,
    }


async def save_store(
    session: AsyncSession, clock: Clock, fields: StoreFields, *, actor: str
) -> tuple[Store, bool, bool]:
    """Create the store or update the one with this code, audited in the caller's transaction;
    (store, created, changed)."""
    store = await session.get(Store, fields.code)
    after = asdict(fields)
    if store is None:
        store = Store(id=fields.code)
        before = None
        session.add(store)
    else:
        before = _fields_of(store)
    store.name, store.time_zone, store.address = fields.name, fields.time_zone, fields.address
    store.latitude, store.longitude = fields.latitude, fields.longitude
    if before != after:
        action = "store_created" if before is None else "store_updated"
        record(session, clock, actor, action, ("store", fields.code), before=before, after=after)
    await session.flush()
    return store, before is None, before != after


async def get_store(session: AsyncSession, code: str) -> Store | None:
    if len(code) > MAX_CODE:
        return None
    return await session.get(Store, code)


async def store_zone(session: AsyncSession, store_id: object) -> ZoneInfo | None:
    """The zone of the store a receipt came from; None for a store we do not know (or a bad zone)."""
    if not isinstance(store_id, str) or not store_id or len(store_id) > MAX_CODE:
        return None
    name = (await session.execute(select(Store.time_zone).where(Store.id == store_id))).scalar_one_or_none()
    return None if name is None or zone_problem(name) else ZoneInfo(name)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_stores(
    session: AsyncSession, search: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[Store], int]:
    """Stores by code, those whose code or name contains `search` (case-insensitive), and how many match."""
    stmt = select(Store)
    search = search.strip()[:MAX_SEARCH]
    if search:
        # SQLite's lower() folds ASCII only: the text as typed also matches, so "Екат" finds "Екатеринбург"
        patterns = {_like(search), _like(search.lower())}
        stmt = stmt.where(
            or_(
                *(func.lower(column).like(p, escape="\\") for p in patterns for column in (Store.id, Store.name)),
                *(Store.name.like(p, escape="\\") for p in patterns),
            )
        )
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Store.id).limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


__all__ = [
    "FIELDS",
    "MAX_ADDRESS",
    "MAX_CODE",
    "MAX_NAME",
    "StoreFields",
    "get_store",
    "list_stores",
    "parse_store",
    "save_store",
    "store_zone",
    "text_field",
]
