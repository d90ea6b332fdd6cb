"""Active promotions cached per process and per engine, with a cheap freshness check.

The till's hot path must not read 200 promotions per receipt: the catalog is reloaded only when
the promotions table's stamp (row count, sum of versions) moved, and the stamp itself is read at
most once every FRESHNESS_SECONDS. A change made in this process is seen at once (forget)."""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.models import SegmentMember
from shared.db.models.promotions import Promotion
from shared.promotions.terms import PromotionTerms, terms_of

FRESHNESS_SECONDS = 1.0
P, SM = Promotion.__table__, SegmentMember.__table__

_STAMP = select(func.count(), func.coalesce(func.sum(P.c.version), 0))
_ACTIVE = select(P).where(P.c.active.is_(True))
_SEGMENTS = select(SM.c.segment_id).where(
    SM.c.member_id == bindparam("member_id"), SM.c.segment_id.in_(bindparam("ids", expanding=True))
)


@dataclass
class Catalog:
    stamp: tuple[int, int]
    checked_at: float
    promotions: tuple[PromotionTerms, ...]
    by_id: dict[int, PromotionTerms]
    segment_ids: frozenset[int]


_catalogs: weakref.WeakKeyDictionary[AsyncEngine, Catalog] = weakref.WeakKeyDictionary()


def forget(engine: AsyncEngine) -> None:
    """Drop this process's cache (after a change made here): the next receipt reloads."""
    _catalogs.pop(engine, None)


async def active_catalog(conn: AsyncConnection) -> Catalog:
    engine = conn.engine
    cached = _catalogs.get(engine)
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < FRESHNESS_SECONDS:
        return cached
    row = (await conn.execute(_STAMP)).one()
    stamp = (int(row[0]), int(row[1]))
    if cached is not None and cached.stamp == stamp:
        cached.checked_at = now
        return cached
    promotions = tuple(sorted((terms_of(r) for r in (await conn.execute(_ACTIVE)).all()), key=lambda p: p.order))
    catalog = Catalog(
        stamp, now, promotions, {p.id: p for p in promotions}, frozenset(s for p in promotions for s in p.segment_ids)
    )
    _catalogs[engine] = catalog
    return catalog


async def segments_of(conn: AsyncConnection, member_id: uuid.UUID, wanted: Iterable[int]) -> frozenset[int]:
    """The member's segments among those some promotion targets (one indexed lookup, or none)."""
    ids = sorted(set(wanted))
    if not ids:
        return frozenset()
    rows = (await conn.execute(_SEGMENTS, {"member_id": member_id, "ids": ids})).scalars().all()
    return frozenset(int(r) for r in rows)


def describe(terms: PromotionTerms) -> dict[str, Any]:
    return {"id": terms.id, "name": terms.name, "kind": terms.kind, "effect": terms.effect()}
