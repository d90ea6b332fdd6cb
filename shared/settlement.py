"""Settlements with coalition partners, per calendar month of the program's zone (`YYYY-MM`).

Every ledger entry of the month lands on exactly one line: the partner of the store of its receipt
(an expiry: of the receipt that earned the burnt lot), under the agreement in force when the entry
was written; entries of the retailer's own stores, of unknown stores and of no store at all (bonuses,
adjustments) make the program's own line (partner None). So the lines add up to the program's totals.

    partner pays  = (issued − reversed) × issue price per point
    program pays  = (spent − restored) × redeem price per point

Closing a month (after it ended) freezes its lines. An entry that still lands in a closed month
afterwards (a job run "as of" a past moment) is carried into the next open month, never rewriting
the closed one: a closed month's late figures are its live figures less what it froze and less what
later closings already carried away (lines with `origin` = that month).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit import record
from shared.clock import Clock
from shared.db.models import Entry, Lot, Purchase, Store
from shared.db.models.partners import Partner, PartnerAgreement, SettlementLine, SettlementPeriod
from shared.errors import Conflict, FieldError, InvalidInput
from shared.partners import partner_names

PERIOD_RE = re.compile(r"(\d{4})-(\d{2})")
FORMULA = (
    "partner pays = (points issued − points reversed by refunds) × issue price per point; "
    "program pays = (points spent − points restored by refunds) × redeem price per point; "
    "each at the agreement in force when the points moved"
)
Key = tuple[int | None, int | None]  # (partner, agreement)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = PERIOD_RE.fullmatch(text.strip()[:8]) if isinstance(text, str) else None
        if found is None or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
            raise InvalidInput("The period is a month, YYYY-MM.", [FieldError("period", "must be YYYY-MM")])
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo) -> Month:
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone)

    def end(self, zone: ZoneInfo) -> datetime:
        return self.next().start(zone)


@dataclass
class Figures:
    """Points that moved, all counted positive except `other` (bonuses, adjustments: signed)."""

    issued: int = 0
    spent: int = 0
    expired: int = 0
    reversed: int = 0
    restored: int = 0
    other: int = 0

    def __add__(self, more: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(more, f.name) for f in fields(Figures)))

    def __sub__(self, less: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) - getattr(less, f.name) for f in fields(Figures)))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(Figures))

    @property
    def net(self) -> int:
        """The change of members' balances these figures make (the sum of the entries' points)."""
        return self.issued - self.spent - self.expired - self.reversed + self.restored + self.other


FIGURES = tuple(f.name for f in fields(Figures))


@dataclass(frozen=True)
class Line:
    partner_id: int | None
    partner: str  # name; '' for the program's own line
    agreement_id: int | None
    issue_price: int | None
    redeem_price: int | None
    figures: Figures
    origin: str | None = None  # the closed month whose late entries this line carries

    @property
    def partner_pays(self) -> int:
        return (self.figures.issued - self.figures.reversed) * (self.issue_price or 0)

    @property
    def program_pays(self) -> int:
        return (self.figures.spent - self.figures.restored) * (self.redeem_price or 0)

    @property
    def formula(self) -> str:
        """The arithmetic of this line, in kopecks."""
        if self.partner_id is None:
            return "—"
        if self.agreement_id is None:
            return "no agreement in force: nothing owed"
        f = self.figures
        return (
            f"({f.issued} − {f.reversed}) × {self.issue_price} = {self.partner_pays}; "
            f"({f.spent} − {f.restored}) × {self.redeem_price} = {self.program_pays}"
        )


@dataclass
class Settlement:
    period: Month
    closed_at: datetime | None
    closed_by: str | None
    lines: list[Line] = field(default_factory=list)

    @property
    def totals(self) -> Figures:
        total = Figures()
        for line in self.lines:
            total = total + line.figures
        return total

    def of_partner(self, partner_id: int) -> Settlement:
        """Only that partner's lines (what a partner's staff may see)."""
        return replace(self, lines=[line for line in self.lines if line.partner_id == partner_id])


_SIGN = case((Entry.points > 0, 1), else_=-1)


async def live_figures(session: AsyncSession, start: datetime, end: datetime) -> dict[Key, Figures]:
    """The entries written in [start, end), by partner and agreement: one grouped statement."""
    purchase_id = func.coalesce(Entry.purchase_id, Lot.purchase_id)
    agreement = and_(
        PartnerAgreement.partner_id == Store.partner_id,
        PartnerAgreement.valid_from <= Entry.created_at,
        or_(PartnerAgreement.valid_to.is_(None), Entry.created_at < PartnerAgreement.valid_to),
    )
    stmt = (
        select(Store.partner_id, PartnerAgreement.id, Entry.kind, _SIGN, func.sum(Entry.points))
        .select_from(Entry)
        .outerjoin(Lot, and_(Entry.purchase_id.is_(None), Lot.id == Entry.lot_id))
        .outerjoin(Purchase, Purchase.id == purchase_id)
        .outerjoin(Store, Store.id == Purchase.store_id)
        .outerjoin(PartnerAgreement, agreement)
        .where(Entry.created_at >= start, Entry.created_at < end)
        .group_by(Store.partner_id, PartnerAgreement.id, Entry.kind, _SIGN)
    )
    out: dict[Key, Figures] = defaultdict(Figures)
    for partner_id, agreement_id, kind, sign, points in (await session.execute(stmt)).all():
        _count(out[(partner_id, agreement_id)], kind, int(sign), int(points or 0))
    return dict(out)


def _count(figures: Figures, kind: str, sign: int, points: int) -> None:
    if kind == "accrual" and sign > 0:
        figures.issued += points
    elif kind == "redemption" and sign < 0:
        figures.spent -= points
    elif kind == "expiry" and sign < 0:
        figures.expired -= points
    elif kind == "refund" and sign < 0:
        figures.reversed -= points
    elif kind == "refund":
        figures.restored += points
    else:
        figures.other += points


async def _frozen(session: AsyncSession, *where: Any) -> dict[Key, Figures]:
    stmt = select(
        SettlementLine.partner_id, SettlementLine.agreement_id, *(func.sum(getattr(SettlementLine, n)) for n in FIGURES)
    ).where(*where)
    stmt = stmt.group_by(SettlementLine.partner_id, SettlementLine.agreement_id)
    return {(row[0], row[1]): Figures(*(int(v or 0) for v in row[2:])) for row in (await session.execute(stmt)).all()}


def _minus(a: dict[Key, Figures], b: dict[Key, Figures]) -> dict[Key, Figures]:
    out = dict(a)
    for key, figures in b.items():
        out[key] = out.get(key, Figures()) - figures
    return {key: figures for key, figures in out.items() if figures}


async def late_figures(session: AsyncSession, month: Month, zone: ZoneInfo) -> dict[Key, Figures]:
    """What landed in a closed month after it was frozen and was not carried away yet."""
    live = await live_figures(session, month.start(zone), month.end(zone))
    kept = await _frozen(session, SettlementLine.period == str(month), SettlementLine.origin.is_(None))
    carried = await _frozen(session, SettlementLine.origin == str(month))
    return _minus(_minus(live, kept), carried)


async def closed_months(session: AsyncSession) -> dict[str, SettlementPeriod]:
    return {p.period: p for p in (await session.execute(select(SettlementPeriod))).scalars()}


async def _feeders(session: AsyncSession, month: Month, closed: dict[str, SettlementPeriod]) -> list[Month]:
    """The closed months right before an open one: their late entries land in it."""
    out = []
    previous = month.previous()
    while str(previous) in closed:
        out.append(previous)
        previous = previous.previous()
    return out


async def line_maker(session: AsyncSession) -> Callable[[Key, Figures, str | None], Line]:
    """Makes a Line of figures under a (partner, agreement) key, with the partner's name and the prices."""
    names = await partner_names(session)
    prices = {
        a.id: (a.issue_price, a.redeem_price) for a in (await session.execute(select(PartnerAgreement))).scalars()
    }

    def line(key: Key, figures: Figures, origin: str | None) -> Line:
        issue, redeem = prices.get(key[1], (None, None)) if key[1] is not None else (None, None)
        return Line(key[0], names.get(key[0], "") if key[0] else "", key[1], issue, redeem, figures, origin)

    return line


async def settlement(session: AsyncSession, month: Month, zone: ZoneInfo) -> Settlement:
    """A month's lines: frozen if it is closed, else live plus what closed months before it carry."""
    closed = await closed_months(session)
    line = await line_maker(session)
    period = closed.get(str(month))
    result = Settlement(month, period.closed_at if period else None, period.closed_by if period else None)
    if period is not None:
        stmt = select(SettlementLine).where(SettlementLine.period == str(month)).order_by(SettlementLine.id)
        for row in (await session.execute(stmt)).scalars():
            figures = Figures(*(getattr(row, n) for n in FIGURES))
            result.lines.append(line((row.partner_id, row.agreement_id), figures, row.origin))
    else:
        for key, figures in (await live_figures(session, month.start(zone), month.end(zone))).items():
            result.lines.append(line(key, figures, None))
        for feeder in await _feeders(session, month, closed):
            for key, figures in (await late_figures(session, feeder, zone)).items():
                result.lines.append(line(key, figures, str(feeder)))
    result.lines.sort(key=lambda x: (x.partner_id is not None, x.partner, x.agreement_id or 0, x.origin or ""))
    if period is None:  # an open month lists every active partner, with zeros when nothing happened there
        present = {x.partner_id for x in result.lines}
        active = (await session.execute(select(Partner.id).where(Partner.active.is_(True)))).scalars()
        result.lines += [line((pid, None), Figures(), None) for pid in active if pid not in present]
        result.lines.sort(key=lambda x: (x.partner_id is not None, x.partner, x.agreement_id or 0, x.origin or ""))
    if not any(x.partner_id is None and x.origin is None for x in result.lines):
        result.lines.insert(0, line((None, None), Figures(), None))
    return result


async def close_month(session: AsyncSession, clock: Clock, month: Month, zone: ZoneInfo, *, actor: str) -> Settlement:
    """Freeze a month that has ended (Conflict if it has not, or is closed already), audited."""
    if month.end(zone) > clock.now():
        raise Conflict(f"{month} has not ended yet; close it once it is over.")
    if str(month) in await closed_months(session):
        raise Conflict(f"{month} is closed already.")
    figures = await settlement(session, month, zone)
    session.add(SettlementPeriod(period=str(month), closed_at=clock.now(), closed_by=actor))
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{month} is closed already.") from exc
    for item in figures.lines:
        if item.figures or item.origin is None:
            session.add(
                SettlementLine(
                    period=str(month),
                    origin=item.origin,
                    partner_id=item.partner_id,
                    agreement_id=item.agreement_id,
                    **{n: getattr(item.figures, n) for n in FIGURES},
                )
            )
    totals = figures.totals
    record(
        session,
        clock,
        actor,
        "settlement_closed",
        ("settlement", str(month)),
        after={n: getattr(totals, n) for n in FIGURES},
    )
    await session.flush()
    return await settlement(session, month, zone)


def csv_rows(result: Settlement) -> tuple[list[str], list[list[object]]]:
    """The header and rows of a month's settlement for shared.csv_export."""
    header = ["period", "partner", "carried_from", *FIGURES, "issue_price", "redeem_price"]
    header += ["partner_pays", "program_pays", "formula"]
    rows: list[list[object]] = [
        [
            str(result.period),
            line.partner or "(program)",
            line.origin or "",
            *(getattr(line.figures, n) for n in FIGURES),
            line.issue_price,
            line.redeem_price,
            line.partner_pays,
            line.program_pays,
            line.formula,
        ]
        for line in result.lines
    ]
    return header, rows


def months_until(first: date, last: Month) -> list[Month]:
    """Months from the one holding `first` to `last`, newest first (the console's period picker)."""
    out: list[Month] = []
    month = last
    while (month.year, month.month) >= (first.year, first.month) and len(out) < 120:
        out.append(month)
        month = month.previous()
    return out


__all__ = [
    "FIGURES",
    "FORMULA",
    "Figures",
    "Line",
    "Month",
    "Settlement",
    "close_month",
    "closed_months",
    "csv_rows",
    "late_figures",
    "line_maker",
    "live_figures",
    "months_until",
    "settlement",
]
