"""Coalition partners at the till: each partner store's partner name and earn rates, cached per process
and per engine, so pricing a receipt reads a dict, never the database. The cache is reloaded at most
every RELOAD_SECONDS (one small SELECT over the partners' stores and agreements); a change made in this
process is seen at once (`forget`), other processes follow within RELOAD_SECONDS."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.models import Store
from shared.db.models.partners import Partner, PartnerAgreement

RELOAD_SECONDS = 30.0


@dataclass(frozen=True)
class Rate:
    valid_from: datetime
    valid_to: datetime | None
    percent: int


@dataclass
class PartnerStore:
    partner: str  # the partner's name, printed on the receipt
    rates: list[Rate] = field(default_factory=list)


@dataclass
class Rates:
    loaded_at: float
    by_store: dict[str, PartnerStore]


_rates: weakref.WeakKeyDictionary[AsyncEngine, Rates] = weakref.WeakKeyDictionary()
_QUERY = (
    select(
        Store.id, Partner.name, PartnerAgreement.valid_from, PartnerAgreement.valid_to, PartnerAgreement.earn_percent
    )
    .join(Partner, Partner.id == Store.partner_id)
    .outerjoin(
        PartnerAgreement,
        and_(PartnerAgreement.partner_id == Store.partner_id, PartnerAgreement.earn_percent.is_not(None)),
    )
)


def forget(engine: AsyncEngine) -> None:
    """Drop this process's rates (after an agreement or a store's partner changed here)."""
    _rates.pop(engine, None)


async def at_store(conn: AsyncConnection, store_id: str, at: datetime) -> tuple[str | None, int | None]:
    """The store's partner (None: the retailer's own store) and the earn rate of the partner's agreement
    in force at `at` (None: the program's tiers)."""
    engine = conn.engine
    rates = _rates.get(engine)
    now = time.monotonic()
    if rates is None or now - rates.loaded_at >= RELOAD_SECONDS:
        by_store: dict[str, PartnerStore] = {}
        for code, name, start, end, percent in (await conn.execute(_QUERY)).all():
            store = by_store.setdefault(code, PartnerStore(name))
            if percent is not None:
                store.rates.append(Rate(start, end, int(percent)))
        rates = _rates[engine] = Rates(now, by_store)
    found = rates.by_store.get(store_id)
    if found is None:
        return None, None
    for rate in found.rates:
        if rate.valid_from <= at and (rate.valid_to is None or at < rate.valid_to):
            return found.partner, rate.percent
    return found.partner, None


__all__ = ["RELOAD_SECONDS", "at_store", "forget"]
