"""The ledger's rules as plain arithmetic, written once: which lots a spend or a reversal draws
from, and how new points split between repaying debt and the new lot. Both ledgers apply these
plans: shared.ledger to ORM objects (refunds, support, jobs, bonuses) and shared.receipt_ledger to
the rows the till's hot path writes in a few statements. Nothing here reads or writes a database.

Invariant kept by both: for every member, sum(entries.points) == available + pending, where
available = points in available lots - debt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.errors import NotEnoughPoints

PENDING, AVAILABLE, SPENT, EXPIRED, REVERSED = "pending", "available", "spent", "expired", "reversed"


@dataclass(frozen=True)
class Draw:
    """Points taken from one lot: its index in the lots given, how many, and what the lot has then."""

    index: int
    take: int
    remaining: int
    status: str  # SPENT when emptied, else AVAILABLE


@dataclass(frozen=True)
class Drawing:
    draws: list[Draw]
    latest: datetime | None  # the latest expiry drawn from (None: nothing drawn)
    short: int  # points the lots could not cover


def draw(lots: list[tuple[int, datetime]], points: int) -> Drawing:
    """Take `points` from available lots (remaining, expires_at), soonest-expiring first: the lots
    come sorted so (by expiry, then id)."""
    draws, left, latest = [], points, None
    for index, (remaining, expires_at) in enumerate(lots):
        if left == 0:
            break
        if remaining <= 0:
            continue
        take = min(remaining, left)
        draws.append(Draw(index, take, remaining - take, SPENT if take == remaining else AVAILABLE))
        left -= take
        latest = expires_at if latest is None else max(latest, expires_at)
    return Drawing(draws, latest, left)


def check_balance(available: int, points: int) -> None:
    """No spending beyond the member's available points."""
    if points > available:
        raise NotEnoughPoints(f"Only {max(available, 0)} points are available.", max=max(available, 0))


def plan_spend(available: int, lots: list[tuple[int, datetime]], points: int) -> Drawing:
    """A redemption or debit of `points` from a member with `available` points: refused beyond the
    balance, and rather than overdraw if the lots disagree with the running total."""
    check_balance(available, points)
    drawing = draw(lots, points)
    if drawing.short:  # the running total disagreed with the lots
        raise NotEnoughPoints("The balance is being recomputed; try again.", max=points - drawing.short)
    return drawing


@dataclass(frozen=True)
class Repayment:
    """Points becoming available first repay debt: what is repaid and what the lot keeps."""

    repaid: int
    remaining: int
    status: str  # SPENT when the debt took it all, else AVAILABLE


def repay(debt: int, remaining: int) -> Repayment:
    repaid = min(debt, remaining)
    return Repayment(repaid, remaining - repaid, SPENT if repaid and repaid == remaining else AVAILABLE)


@dataclass(frozen=True)
class Accrual:
    """A new lot of `points`: pending until available_at, or available at once (repaying debt)."""

    status: str
    remaining: int
    to_available: int  # added to the member's available points
    to_pending: int  # added to the member's pending points
    repaid: int  # debt repaid from it


def plan_accrual(points: int, debt: int, *, available: bool) -> Accrual:
    if not available:
        return Accrual(PENDING, points, 0, points, 0)
    repayment = repay(debt, points)
    # available grows by the points and shrinks by nothing: the debt repaid was counted against it
    return Accrual(repayment.status, repayment.remaining, points, 0, repayment.repaid)


def own_lot_take(points: int, own_remaining: int, own_status: str) -> tuple[int, str]:
    """A refund takes accrued points back from their own lot first (pending or available): how
    many, and the lot's status afterwards (REVERSED when emptied). The rest comes from the other
    available lots by draw(), and what they cannot cover becomes debt."""
    if own_status not in (PENDING, AVAILABLE) or own_remaining <= 0 or points <= 0:
        return 0, own_status
    take = min(own_remaining, points)
    return take, REVERSED if take == own_remaining else own_status
