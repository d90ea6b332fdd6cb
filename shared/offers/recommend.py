"""Recommendations from purchase lines: which SKUs and categories go together in baskets
(support, confidence, lift) and, per member, what their baskets predict they have not bought lately.

Everything is computed in SQL (one INSERT ... SELECT per kind and table), the same statements on
PostgreSQL and SQLite; only the way a receipt's JSON lines become rows differs, done once per run
into a temporary table. A recompute replaces
both tables in one transaction, so running it twice changes nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, String, Table, Uuid, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import RecommendSettings
from shared.db.models.offers import Association, MemberRecommendation
from shared.db.types import UTCDateTime

if TYPE_CHECKING:
    from shared.core import Core

KINDS = ("sku", "category")

# A purchase's receipt lines as rows (`p` is the purchase, `l` the line) and a line's field: parsed
# here once per run into a temporary table every statement below reads; the category-overlap report
# (shared/reports/overlap.py) reads them the same way.
RECEIPT_LINES = {
    "postgresql": ("CROSS JOIN LATERAL json_array_elements(p.lines) AS l(line)", "l.line ->> '{key}'"),
    "sqlite": ("CROSS JOIN json_each(p.lines) AS l", "json_extract(l.value, '$.{key}')"),
}
_FILL_LINES = """
INSERT INTO recommend_lines (basket, member_id, purchased_at, sku, category)
SELECT p.id, p.member_id, p.purchased_at, {sku}, {category}
FROM purchases AS p {lines}
WHERE p.purchased_at >= :since AND p.purchased_at < :until
"""
_SCRATCH = Table(
    "recommend_lines",
    MetaData(),
    Column("basket", Uuid, nullable=False),
    Column("member_id", Uuid),
    Column("purchased_at", UTCDateTime(), nullable=False),
    Column("sku", String(64)),
    Column("category", String(64)),
    prefixes=["TEMPORARY"],
)

_BASKET_ITEMS = """
items AS (
    SELECT basket, {kind} AS item, max(category) AS category
    FROM recommend_lines WHERE {kind} IS NOT NULL
    GROUP BY basket, {kind}
)"""

_BASKETS = "SELECT count(DISTINCT basket) FROM recommend_lines WHERE {kind} IS NOT NULL"

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
    SELECT member_id, {kind} AS item, max(purchased_at) AS last_at
    FROM recommend_lines WHERE member_id IS NOT NULL AND {kind} IS NOT NULL
    GROUP BY member_id, {kind}
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


async def recompute_recommendations(
    session: AsyncSession, settings: RecommendSettings, as_of: datetime
) -> RecomputeReport:
    """Replace the associations and every member's recommendations as of `as_of`."""
    dialect = session.get_bind().dialect.name
    lines, value = RECEIPT_LINES[dialect]
    stamp = bindparam("now", as_of, type_=UTCDateTime())
    report = RecomputeReport()
    await session.execute(delete(MemberRecommendation))
    await session.execute(delete(Association))
    # created inside the transaction, so a failure rolls it back with everything else
    await session.run_sync(lambda sync: _SCRATCH.create(sync.connection()))
    fill = _FILL_LINES.format(lines=lines, sku=value.format(key="sku"), category=value.format(key="category"))
    await session.execute(
        text(fill).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in ("since", "until"))),
        {"since": as_of - timedelta(days=settings.days), "until": as_of},
    )
    if dialect == "postgresql":  # temporary tables are never analysed by autovacuum
        await session.execute(text("ANALYZE recommend_lines"))
        # the pair counts are hash joins and aggregates: in memory rather than spilled to disk
        await session.execute(text(f"SET LOCAL work_mem = '{int(settings.work_mem_mb)}MB'"))
    for kind in KINDS:
        baskets = int((await session.execute(text(_BASKETS.format(kind=kind)))).scalar_one())
        report.baskets[kind] = baskets
        report.associations[kind] = 0
        if baskets:
            min_count = max(1, math.ceil(settings.min_support * baskets - 1e-9))
            inserted = await session.execute(
                text(_ASSOCIATIONS.format(items=_BASKET_ITEMS.format(kind=kind))).bindparams(stamp),
                {"kind": kind, "baskets": baskets, "min_count": min_count},
            )
            report.associations[kind] = int(inserted.rowcount)  # type: ignore[attr-defined]
    for kind in KINDS:
        statement = text(_MEMBERS.format(kind=kind)).bindparams(
            stamp,
            bindparam("recent", type_=UTCDateTime()),
            bindparam("excluded", expanding=True, type_=String()),
        )
        inserted = await session.execute(
            statement,
            {
                "kind": kind,
                "recent": as_of - timedelta(days=settings.recent_days),
                "excluded": settings.excluded,
                "top": settings.top,
            },
        )
        report.recommendations[kind] = int(inserted.rowcount)  # type: ignore[attr-defined]
    await session.run_sync(lambda sync: _SCRATCH.drop(sync.connection()))
    return report


async def run_recommendations(core: Core, as_of: datetime | None = None) -> RecomputeReport:
    """The nightly job: one transaction, so readers see the old set or the new one, never half."""
    async with core.transaction() as session:
        return await recompute_recommendations(session, core.settings.recommend, as_of or core.clock.now())


async def recommendations_for(session: AsyncSession, member_id: uuid.UUID, kind: str) -> list[MemberRecommendation]:
    """A member's recommendations of one kind ("sku" or "category"), best first."""
    return (await recommendations_of(session, [member_id], kind)).get(member_id, [])


async def recommendations_of(
    session: AsyncSession, member_ids: Sequence[uuid.UUID], kind: str, top: int | None = None
) -> dict[uuid.UUID, list[MemberRecommendation]]:
    """The recommendations of one kind of a batch of members (at most `top` each), best first."""
    if not member_ids:
        return {}
    stmt = select(MemberRecommendation).where(
        MemberRecommendation.member_id.in_(member_ids), MemberRecommendation.kind == kind
    )
    if top is not None:
        stmt = stmt.where(MemberRecommendation.rank <= top)
    out: dict[uuid.UUID, list[MemberRecommendation]] = {}
    for found in (
        await session.execute(stmt.order_by(MemberRecommendation.member_id, MemberRecommendation.rank))
    ).scalars():
        out.setdefault(found.member_id, []).append(found)
    return out
