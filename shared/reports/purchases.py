"""Reports about purchases: how many are identified, how many members come back."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Purchase
from shared.program import ProgramRules
from shared.reports.base import (
    Chart,
    Period,
    ReportResult,
    bucket_of,
    day_labels,
    per_bucket,
    percent,
    ratio,
    report,
)


def _in(period: Period) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Purchase.purchased_at >= period.start, Purchase.purchased_at < period.end


@report
class IdentifiedShare:
    code = "identified"
    title = "Identified-purchase share"
    formula = "identified share = purchases with a member / all purchases confirmed in the period"

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        known_row = case((Purchase.member_id.is_not(None), 1), else_=0)
        inner = (
            select(bucket_of(Purchase.purchased_at, period).label("bucket"), known_row.label("known"))
            .where(*_in(period))
            .subquery()
        )
        rows = (
            await session.execute(
                select(inner.c.bucket, func.count(), func.sum(inner.c.known)).group_by(inner.c.bucket)
            )
        ).all()
        alls = per_bucket([(b, n) for b, n, _ in rows], period)
        known = per_bucket([(b, k) for b, _, k in rows], period)
        shares = [ratio(k, a) for k, a in zip(known, alls, strict=True)]
        value = ratio(sum(known), sum(alls))
        labels = day_labels(period)
        return ReportResult(
            headline=f"{percent(value)} of {int(sum(alls))} purchases",
            chart=Chart("line", labels, [("identified share", [(s or 0) * 100 for s in shares])], unit="%"),
            columns=["from", "purchases", "identified", "share"],
            rows=[
                [label, int(a), int(k), round(s, 4) if s is not None else None]
                for label, a, k, s in zip(labels, alls, known, shares, strict=True)
            ],
            value=value,
        )


@report
class RepeatRate:
    code = "repeat"
    title = "Repeat-purchase rate"
    formula = "repeat rate = members with ≥ 2 purchases in the period / members with ≥ 1 purchase in the period"

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        per_member = (
            select(func.count().label("visits"))
            .where(Purchase.member_id.is_not(None), *_in(period))
            .group_by(Purchase.member_id)
            .subquery()
        )
        rows = (await session.execute(select(per_member.c.visits, func.count()).group_by(per_member.c.visits))).all()
        labels = ["1", "2", "3", "4", "5+"]
        counts = [0] * 5
        for visits, members in rows:
            counts[min(int(visits), 5) - 1] += int(members)
        buyers = sum(counts)
        value = ratio(buyers - counts[0], buyers)
        return ReportResult(
            headline=f"{percent(value)} of {buyers} buying members came back",
            chart=Chart("bar", labels, [("members", [float(c) for c in counts])]),
            columns=["purchases_in_period", "members"],
            rows=[[label, count] for label, count in zip(labels, counts, strict=True)],
            value=value,
        )
