"""RFM: recency of the last purchase, frequency and monetary value over a window, each scored
1-5 by quintile (5 = most recent / most often / most spent), and the standard named segments
read off the recency x frequency grid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from shared.db.models import Purchase

# name -> cells of the R x F grid (R scores, F scores); together they cover all 25 cells once.
GRID: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "champions": ((5,), (4, 5)),
    "loyal_customers": ((3, 4), (4, 5)),
    "potential_loyalists": ((4, 5), (2, 3)),
    "new_customers": ((5,), (1,)),
    "promising": ((4,), (1,)),
    "need_attention": ((3,), (3,)),
    "about_to_sleep": ((3,), (1, 2)),
    "cant_lose_them": ((1, 2), (5,)),
    "at_risk": ((1, 2), (3, 4)),
    "hibernating": ((1, 2), (1, 2)),
}
RFM_SEGMENTS = tuple(GRID)
TITLES = {
    "champions": ("Чемпионы", "Champions"),
    "loyal_customers": ("Лояльные", "Loyal customers"),
    "potential_loyalists": ("Потенциально лояльные", "Potential loyalists"),
    "new_customers": ("Новые", "New customers"),
    "promising": ("Перспективные", "Promising"),
    "need_attention": ("Требуют внимания", "Need attention"),
    "about_to_sleep": ("Засыпающие", "About to sleep"),
    "cant_lose_them": ("Нельзя потерять", "Can't lose them"),
    "at_risk": ("В зоне риска", "At risk"),
    "hibernating": ("Спящие", "Hibernating"),
}


def named_segment(r: int, f: int) -> str:
    for name, (rs, fs) in GRID.items():
        if r in rs and f in fs:
            return name
    raise ValueError(f"no RFM segment for R={r} F={f}")


def purchase_stats(since: datetime, until: datetime | None = None) -> Select[*tuple[Any, ...]]:
    """Per member within the window [since, until): money paid (net of refunds), purchases, the last one."""
    stmt = (
        select(
            Purchase.member_id.label("member_id"),
            func.sum(Purchase.paid - Purchase.refunded_paid).label("spend"),
            func.count().label("purchases"),
            func.max(Purchase.purchased_at).label("last_at"),
        )
        .where(Purchase.member_id.is_not(None), Purchase.purchased_at >= since)
        .group_by(Purchase.member_id)
    )
    return stmt.where(Purchase.purchased_at < until) if until is not None else stmt


def rfm_scores(since: datetime, until: datetime | None = None) -> Select[*tuple[Any, ...]]:
    """Quintile scores of every member who bought within the window (ties broken by member id,
    so equal values may land in neighbouring quintiles, as with ranked quantiles)."""
    stats = purchase_stats(since, until).subquery("stats")
    return select(
        stats.c.member_id,
        func.ntile(5).over(order_by=(stats.c.last_at, stats.c.member_id)).label("r"),
        func.ntile(5).over(order_by=(stats.c.purchases, stats.c.member_id)).label("f"),
        func.ntile(5).over(order_by=(stats.c.spend, stats.c.member_id)).label("m"),
    )


def segment_name_expr(r: ColumnElement[int], f: ColumnElement[int]) -> ColumnElement[str]:
    return case(*[(and_(r.in_(rs), f.in_(fs)), name) for name, (rs, fs) in GRID.items()])


def in_segments(r: ColumnElement[int], f: ColumnElement[int], names: tuple[str, ...]) -> ColumnElement[bool]:
    return or_(*[and_(r.in_(GRID[name][0]), f.in_(GRID[name][1])) for name in names])
