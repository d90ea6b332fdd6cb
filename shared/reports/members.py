"""Reports about the member base: growth and tiers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Member, Purchase
from shared.program import ProgramRules
from shared.reports.base import Chart, Period, ReportResult, bucket_of, day_labels, per_bucket, report

CLOSE_SHARE = 0.8  # "close to the next tier": rolling spend at or above 80% of its threshold


@report
class MembersOverTime:
    code = "members"
    title = "Members over time"
    formula = "members(t) = members registered before the end of t; new(t) = members registered within t"

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        before = (
            await session.execute(select(func.count()).select_from(Member).where(Member.created_at < period.start))
        ).scalar_one()
        inner = (
            select(bucket_of(Member.created_at, period).label("bucket"))
            .where(Member.created_at >= period.start, Member.created_at < period.end)
            .subquery()
        )
        rows = (await session.execute(select(inner.c.bucket, func.count()).group_by(inner.c.bucket))).all()
        new = [int(v) for v in per_bucket(rows, period)]
        totals, running = [], int(before)
        for count in new:
            running += count
            totals.append(running)
        labels = day_labels(period)
        return ReportResult(
            headline=f"{running} members, {sum(new)} new in the period",
            chart=Chart("line", labels, [("members", [float(t) for t in totals]), ("new", [float(n) for n in new])]),
            columns=["from", "new_members", "members"],
            rows=[[label, n, t] for label, n, t in zip(labels, new, totals, strict=True)],
            value=float(running),
        )


@report
class TierDistribution:
    code = "tiers"
    title = "Tier distribution and members close to the next tier"
    formula = (
        f"members per tier they hold now (registered before the period end); close = rolling paid spend ≥ "
        f"{CLOSE_SHARE:.0%} of the next tier's threshold (and below it)"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        as_of = period.end
        held = dict(
            (
                await session.execute(
                    select(Member.tier_code, func.count()).where(Member.created_at < as_of).group_by(Member.tier_code)
                )
            ).all()
        )
        spend_rows = (
            await session.execute(
                select(Member.tier_code, func.sum(Purchase.paid - Purchase.refunded_paid))
                .join(Member, Member.id == Purchase.member_id)
                .where(
                    Purchase.purchased_at > as_of - timedelta(days=rules.tier_window_days),
                    Purchase.purchased_at <= as_of,
                    Member.created_at < as_of,
                )
                .group_by(Purchase.member_id, Member.tier_code)
            )
        ).all()
        close = dict.fromkeys((tier.code for tier in rules.tiers), 0)
        for tier_code, spend in spend_rows:
            upcoming = rules.next_tier(tier_code)
            if upcoming is not None and CLOSE_SHARE * upcoming.threshold * 100 <= int(spend) < upcoming.threshold * 100:
                close[rules.tier(tier_code).code] += 1
        codes = [tier.code for tier in rules.tiers]
        counts = [int(held.get(code, 0)) for code in codes]
        names = [rules.tier(code).title("en") for code in codes]
        total = sum(counts)
        return ReportResult(
            headline=", ".join(f"{name} {count}" for name, count in zip(names, counts, strict=True)),
            chart=Chart(
                "bar",
                names,
                [("members", [float(c) for c in counts]), ("close to next", [float(close[c]) for c in codes])],
            ),
            columns=["tier", "threshold", "members", "share", "close_to_next"],
            rows=[
                [code, rules.tier(code).threshold, count, round(count / total, 4) if total else None, close[code]]
                for code, count in zip(codes, counts, strict=True)
            ],
            value=float(total),
        )
