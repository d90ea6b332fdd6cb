"""Reports about points: redemption, breakage and the liability they represent."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Entry, Lot, Member
from shared.program import ProgramRules
from shared.reports.base import (
    Chart,
    Period,
    ReportResult,
    bucket_of,
    day_labels,
    money,
    per_bucket,
    percent,
    ratio,
    report,
)

ACCRUAL_KINDS = ("accrual", "bonus")


async def _entry_sums(session: AsyncSession, period: Period, kinds: tuple[str, ...]) -> list[float]:
    inner = (
        select(bucket_of(Entry.created_at, period).label("bucket"), Entry.points.label("points"))
        .where(Entry.kind.in_(kinds), Entry.created_at >= period.start, Entry.created_at < period.end)
        .subquery()
    )
    rows = (await session.execute(select(inner.c.bucket, func.sum(inner.c.points)).group_by(inner.c.bucket))).all()
    return [abs(v) for v in per_bucket(rows, period)]


def _rate_rows(labels: list[str], parts: list[float], wholes: list[float]) -> list[list[object]]:
    return [
        [label, int(p), int(w), round(r, 4) if (r := ratio(p, w)) is not None else None]
        for label, p, w in zip(labels, parts, wholes, strict=True)
    ]


@report
class RedemptionRate:
    code = "redemption"
    title = "Redemption rate"
    formula = (
        "redemption rate = points redeemed at tills / points accrued (purchases and bonuses) in the period; "
        "refund reversals and support adjustments are left out of both"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        redeemed = await _entry_sums(session, period, ("redemption",))
        accrued = await _entry_sums(session, period, ACCRUAL_KINDS)
        value = ratio(sum(redeemed), sum(accrued))
        labels = day_labels(period)
        return ReportResult(
            headline=f"{percent(value)}: {int(sum(redeemed))} redeemed of {int(sum(accrued))} accrued",
            chart=Chart("bar", labels, [("accrued", accrued), ("redeemed", redeemed)], unit="points"),
            columns=["from", "redeemed", "accrued", "rate"],
            rows=_rate_rows(labels, redeemed, accrued),
            value=value,
        )


@report
class BreakageRate:
    code = "breakage"
    title = "Breakage rate"
    formula = "breakage = points expired in the period / points that became available in the period"

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        expired = await _entry_sums(session, period, ("expiry",))
        inner = (
            select(bucket_of(Lot.available_at, period).label("bucket"), Lot.points.label("points"))
            .where(Lot.available_at >= period.start, Lot.available_at < period.end)
            .subquery()
        )
        rows = (await session.execute(select(inner.c.bucket, func.sum(inner.c.points)).group_by(inner.c.bucket))).all()
        available = per_bucket(rows, period)
        value = ratio(sum(expired), sum(available))
        labels = day_labels(period)
        return ReportResult(
            headline=f"{percent(value)}: {int(sum(expired))} expired, {int(sum(available))} became available",
            chart=Chart("bar", labels, [("became available", available), ("expired", expired)], unit="points"),
            columns=["from", "expired", "became_available", "rate"],
            rows=_rate_rows(labels, expired, available),
            value=value,
        )


@report
class Liability:
    code = "liability"
    title = "Outstanding points liability"
    formula = (
        "liability(t) = (available + pending points) × point value = sum of all ledger entries up to t × point value"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        buckets = period.buckets()
        opening = (
            await session.execute(
                select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.created_at < period.start)
            )
        ).scalar_one()
        moves = await _signed_sums(session, period)
        points, running = [], int(opening)
        for move in moves:
            running += int(move)
            points.append(running)
        available, pending = (
            await session.execute(
                select(func.coalesce(func.sum(Member.available), 0), func.coalesce(func.sum(Member.pending), 0))
            )
        ).one()
        labels = [first.isoformat() for first, _, _ in buckets]
        value = running * rules.point_value
        return ReportResult(
            headline=f"{money(value, rules.currency)} ({running} points at the period end; now "
            f"{int(available)} available + {int(pending)} pending)",
            chart=Chart(
                "line", labels, [("liability", [p * rules.point_value / 100 for p in points])], unit=rules.currency
            ),
            columns=["from", "points_at_end", "liability_minor"],
            rows=[[label, p, p * rules.point_value] for label, p in zip(labels, points, strict=True)],
            value=float(value),
        )


async def _signed_sums(session: AsyncSession, period: Period) -> list[float]:
    inner = (
        select(bucket_of(Entry.created_at, period).label("bucket"), Entry.points.label("points"))
        .where(Entry.created_at >= period.start, Entry.created_at < period.end)
        .subquery()
    )
    rows = (await session.execute(select(inner.c.bucket, func.sum(inner.c.points)).group_by(inner.c.bucket))).all()
    return per_bucket(rows, period)
