"""What a report is: a formula in words, a chart's data and CSV rows, computed in SQL over core tables.

One report is one small class registered with @report; the console lists whatever is registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case
from sqlalchemy.ext.asyncio import AsyncSession

from shared.program import ProgramRules

MAX_BUCKETS = 31


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, made of whole local days; cut into at most MAX_BUCKETS equal buckets."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def buckets(self) -> list[tuple[date, datetime, datetime]]:
        """(first local day, start, end) of each bucket; the last one may be shorter."""
        step = -(-self.days // MAX_BUCKETS)
        out = []
        day = self.first_day
        while day <= self.last_day:
            following = min(day + timedelta(days=step), self.last_day + timedelta(days=1))
            out.append((day, datetime.combine(day, time(), self.zone), datetime.combine(following, time(), self.zone)))
            day = following
        return out


def bucket_of(column: Any, period: Period) -> ColumnElement[int]:
    """The bucket index of a timestamp column (rows must already be limited to the period)."""
    ends = [end for _, _, end in period.buckets()]
    return case(*((column < end, index) for index, end in enumerate(ends[:-1])), else_=len(ends) - 1)


@dataclass
class Chart:
    """Labels along the x axis and one or more named series of the same length."""

    kind: str  # "line" or "bar"
    labels: list[str]
    series: list[tuple[str, list[float]]]
    unit: str = ""


@dataclass
class Matrix:
    """A square table of shares (row label -> column label), drawn as a heat map; `counts` are the
    numbers behind each share, `totals` each row's denominator."""

    labels: list[str]
    totals: list[int]
    counts: list[list[int]]
    shares: list[list[float | None]]


@dataclass
class ReportResult:
    headline: str
    chart: Chart
    columns: list[str]
    rows: list[list[Any]]
    value: float | None = None
    notes: list[str] = field(default_factory=list)
    matrix: Matrix | None = None


@dataclass(frozen=True)
class ReportOptions:
    """What a report that declares `takes_options = True` is asked for besides the period."""

    segment_id: int | None = None  # only members of this segment's snapshot
    top_categories: int = 12  # LOYALTY_REPORTS_OVERLAP_TOP


class Report(Protocol):
    code: ClassVar[str]
    title: ClassVar[str]
    formula: ClassVar[str]

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult: ...


REPORTS: dict[str, Report] = {}


async def compute_report(
    found: Report, session: AsyncSession, rules: ProgramRules, period: Period, options: ReportOptions
) -> ReportResult:
    """A report's result; the options reach only the reports that take them."""
    if getattr(found, "takes_options", False):
        return await found.compute(session, rules, period, options=options)  # type: ignore[call-arg]
    return await found.compute(session, rules, period)


def report(cls: type[Any]) -> type[Any]:
    """Register a report class under its code (the order of registration is the order shown)."""
    REPORTS[cls.code] = cls()
    return cls


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def money(minor: int, currency: str) -> str:
    major, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{major:,}.{cents:02d} {currency}".replace(",", " ")


def day_labels(period: Period) -> list[str]:
    return [first.isoformat() for first, _, _ in period.buckets()]


def per_bucket(rows: Sequence[Any], period: Period, default: float = 0) -> list[float]:
    """(bucket, value) rows into a list with one value per bucket."""
    values = [default] * len(period.buckets())
    for bucket, value in rows:
        values[int(bucket)] = float(value or 0)
    return values
