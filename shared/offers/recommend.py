"""Recommendations from purchase lines: which SKUs and categories go together in baskets
(support, confidence, lift) and, per member, what their baskets predict they have not bought lately.

Everything is computed in SQL (one INSERT ... SELECT per kind and table), the same statements on
PostgreSQL and SQLite; only the way a receipt's JSON lines become rows differs. A recompute replaces
both tables in one transaction, so running it twice changes nothing.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import RecommendSettings
from shared.db.models.offers import Association, MemberRecommendation
from shared.db.types import UTCDateTime

if TYPE_CHECKING:
    from shared.core import Core

KINDS = ("sku", "category")

# One row per receipt line: `p` is the purchase, `line` the JSON object of the line.
_LINES = {
    "postgresql": ("CROSS JOIN LATERAL json_array_elements(p.lines) AS l(line)", "l.line ->> '{key}'"),
    "sqlite": ("CROSS JOIN json_each(p.lines) AS l", "json_extract(l.value, '$.{key}')"),
}

_BASKET_ITEMS = """
items AS (
    SELECT p.id AS basket, {item} AS item, max({category}) AS category
    FROM purchases AS p {lines}
    WHERE p.purchased_at >= :since AND p.purchased_at < :until AND {item} IS NOT NULL
    GROUP BY p.id, {item}
)"""

_BASKETS = "WITH {items} SELECT count(DISTINCT basket) FROM items"

_ASSOCIATIONS = """
INSERT INTO recommend_associations (kind, antecedent, consequent, category, pair_baskets,
    antecedent_baskets, consequent_baskets, baskets, support, confidence, lift, computed_at)
WITH {items},
singles AS (
    SELECT item, count(*) AS n, max(category) AS category
    FROM items GROUP BY item HAVING count(*) >= CAST(:min_count AS BIGINT)
),
pairs AS (
    SELECT a.item AS x, b.item AS y, count(*) AS n
    FROM items AS a JOIN items AS b ON a.basket = b.basket AND a.item <> b.item
    GROUP BY a.item, b.item HAVING count(*) >= CAST(:min_count AS BIGINT)
)
SELECT CAST(:kind AS VARCHAR(8)), pairs.x, pairs.y, sy.category, pairs.n, sx.n, sy.n, CAST(:baskets AS BIGINT),
    CAST(pairs.n AS DOUBLE PRECISION) / CAST(:baskets AS BIGINT),
    CAST(pairs.n AS DOUBLE PRECISION) / sx.n,
    CAST(pairs.n * CAST(:baskets AS BIGINT) AS DOUBLE PRECISION) / (sx.n * sy.n),
    :now
FROM pairs JOIN singles AS sx ON sx.item = pairs.x JOIN singles AS sy ON sy.item = pairs.y
"""

_MEMBERS = """
INSERT INTO member_recommendations (member_id, kind, item, category, rank, score, computed_at)
WITH mine AS (
    SELECT p.member_id AS member_id, {item} AS item, max(p.purchased_at) AS last_at
    FROM purchases AS p {lines}
    WHERE p.member_id IS NOT NULL AND p.purchased_at >= :since AND p.purchased_at < :until
        AND {item} IS NOT NULL
    GROUP BY p.member_id, {item}
),
scored AS (
    SELECT m.member_id AS member_id, a.consequent AS item, max(a.category) AS category,
        sum(a.confidence) AS score
    FROM mine AS m JOIN recommend_associations AS a ON a.kind = CAST(:kind AS VARCHAR(8)) AND a.antecedent = m.item
    WHERE (a.category IS NULL OR a.category NOT IN :excluded)
        AND NOT EXISTS (
            SELECT 1 FROM mine AS r
            WHERE r.member_id = m.member_id AND r.item = a.consequent AND r.last_at >= :recent
        )
    GROUP BY m.member_id, a.consequent
),
ranked AS (
    SELECT member_id, item, category, score,
        row_number() OVER (PARTITION BY member_id ORDER BY score DESC, item) AS place
    FROM scored
)
SELECT member_id, CAST(:kind AS VARCHAR(8)), item, category, place, score, :now
FROM ranked WHERE place <= CAST(:top AS BIGINT)
"""


@dataclass
class RecomputeReport:
    baskets: dict[str, int] = field(default_factory=dict)
    associations: dict[str, int] = field(default_factory=dict)
    recommendations: dict[str, int] = field(default_factory=dict)


def _items(dialect: str, kind: str) -> str:
    lines, value = _LINES[dialect]
    item = value.format(key=kind)
    return _BASKET_ITEMS.format(lines=lines, item=item, category=value.format(key="category"))


def _member_sql(dialect: str, kind: str) -> str:
    lines, value = _LINES[dialect]
    return _MEMBERS.format(lines=lines, item=value.format(key=kind))


async def recompute_recommendations(
    session: AsyncSession, settings: RecommendSettings, as_of: datetime
) -> RecomputeReport:
    """Replace the associations and every member's recommendations as of `as_of`."""
    dialect = session.get_bind().dialect.name
    window = {"since": as_of - timedelta(days=settings.days), "until": as_of}
    stamp = bindparam("now", as_of, type_=UTCDateTime())
    times = [bindparam(name, type_=UTCDateTime()) for name in ("since", "until")]
    report = RecomputeReport()
    await session.execute(delete(MemberRecommendation))
    await session.execute(delete(Association))
    for kind in KINDS:
        items = _items(dialect, kind)
        baskets = (await session.execute(text(_BASKETS.format(items=items)).bindparams(*times), window)).scalar_one()
        report.baskets[kind] = int(baskets)
        if not baskets:
            report.associations[kind] = 0
            continue
        min_count = max(1, math.ceil(settings.min_support * baskets - 1e-9))
        inserted = await session.execute(
            text(_ASSOCIATIONS.format(items=items)).bindparams(*times, stamp),
            {**window, "kind": kind, "baskets": baskets, "min_count": min_count},
        )
        report.associations[kind] = int(inserted.rowcount)  # type: ignore[attr-defined]
    for kind in KINDS:
        statement = text(_member_sql(dialect, kind)).bindparams(
            *times,
            stamp,
            bindparam("recent", type_=UTCDateTime()),
            bindparam("excluded", expanding=True, type_=String()),
        )
        inserted = await session.execute(
            statement,
            {
                **window,
                "kind": kind,
                "recent": as_of - timedelta(days=settings.recent_days),
                "excluded": settings.excluded,
                "top": settings.top,
            },
        )
        report.recommendations[kind] = int(inserted.rowcount)  # type: ignore[attr-defined]
    return report


async def run_recommendations(core: Core, as_of: datetime | None = None) -> RecomputeReport:
    """The nightly job: one transaction, so readers see the old set or the new one, never half."""
    async with core.transaction() as session:
        return await recompute_recommendations(session, core.settings.recommend, as_of or core.clock.now())


async def recommendations_for(session: AsyncSession, member_id: uuid.UUID, kind: str) -> list[MemberRecommendation]:
    """A member's recommendations of one kind ("sku" or "category"), best first."""
    stmt = (
        select(MemberRecommendation)
        .where(MemberRecommendation.member_id == member_id, MemberRecommendation.kind == kind)
        .order_by(MemberRecommendation.rank)
    )
    return list((await session.execute(stmt)).scalars())
