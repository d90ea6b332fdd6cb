"""Coalition partners' earn rates at their stores, for the till's pricing: cached per process and per
engine, so pricing a receipt reads a dict, never the database. The cache is reloaded at most every
RELOAD_SECONDS (one small SELECT over the partners' stores and agreements); a change made in this
process is seen at once (`forget`), other processes follow within RELOAD_SECONDS."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.models import Store
from shared.db.models.partners import PartnerAgreement

RELOAD_SECONDS = 30.0


@dataclass(frozen=True)
class Rate:
    valid_from: datetime
    valid_to: datetime | None
    percent: int


@dataclass
class Rates:
    loaded_at: float
    by_store: dict[str, list[Rate]]


_rates: weakref.WeakKeyDictionary[AsyncEngine, Rates] = weakref.WeakKeyDictionary()
_QUERY = (
    select(Store.id, PartnerAgreement.valid_from, PartnerAgreement.valid_to, PartnerAgreement.earn_percent)
    .join(PartnerAgreement, PartnerAgreement.partner_id == Store.partner_id)
    .where(PartnerAgreement.earn_percent.is_not(None))
)


def forget(engine: AsyncEngine) -> None:
    """Drop this process's rates (after an agreement or a store's partner changed here)."""
    _rates.pop(engine, None)


async def earn_percent(conn: AsyncConnection, store_id: str, at: datetime) -> int | None:
    """The earn rate of the agreement in force at `at` for the store's partner; None: the program's tiers."""
    engine = conn.engine
    rates = _rates.get(engine)
    now = time.monotonic()
    if rates is None or now - rates.loaded_at >= RELOAD_SECONDS:
        by_store: dict[str, list[Rate]] = {}
        for code, start, end, percent in (await conn.execute(_QUERY)).all():
            by_store.setdefault(code, []).append(Rate(start, end, int(percent or 0)))
        rates = _rates[engine] = Rates(now, by_store)
    for rate in rates.by_store.get(store_id, ()):
        if rate.valid_from <= at and (rate.valid_to is None or at < rate.valid_to):
            return rate.percent
    return None


__all__ = ["RELOAD_SECONDS", "earn_percent", "forget"]
