"""The points ledger: immutable entries over lots, with the member row as the write lock.

Invariant: for every member, sum(entries.points) == available + pending, where
available = points in available lots - debt. Debt only arises when a refund reverses
accrued points that were already spent; new points repay it as they become available.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Entry, Lot, Member, Purchase
from shared.errors import NotEnoughPoints, NotFound

PENDING, AVAILABLE, SPENT, EXPIRED, REVERSED = "pending", "available", "spent", "expired", "reversed"


async def lock_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    """Load a member for writing; concurrent writers to the same member queue here."""
    stmt = select(Member).where(Member.id == member_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    member = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if member is None:
        raise NotFound(f"Member {member_id} does not exist.")
    return member


def add_lot(
    session: AsyncSession,
    member: Member,
    *,
    kind: str,
    source: str,
    points: int,
    now: datetime,
    available_at: datetime,
    expires_at: datetime,
    purchase_id: uuid.UUID | None = None,
    comment: str | None = None,
) -> Lot:
    """Credit points as a new lot (pending until available_at) with its ledger entry."""
    status = AVAILABLE if available_at <= now else PENDING
    lot = Lot(
        member_id=member.id,
        source=source,
        points=points,
        remaining=points,
        status=status,
        created_at=now,
        available_at=available_at,
        expires_at=expires_at,
        purchase_id=purchase_id,
    )
    session.add(lot)
    session.add(
        Entry(
            member_id=member.id,
            kind=kind,
            points=points,
            created_at=now,
            available_at=available_at,
            expires_at=expires_at,
            purchase_id=purchase_id,
            comment=comment,
        )
    )
    if status == AVAILABLE:
        member.available += points
        _repay_debt(member, lot)
    else:
        member.pending += points
    return lot


def _repay_debt(member: Member, lot: Lot) -> None:
    repaid = min(member.debt, lot.remaining)
    if repaid:
        lot.remaining -= repaid
        member.debt -= repaid
        if lot.remaining == 0:
            lot.status = SPENT


async def spend(
    session: AsyncSession,
    member: Member,
    points: int,
    now: datetime,
    *,
    kind: str = "redemption",
    purchase_id: uuid.UUID | None = None,
    comment: str | None = None,
    lots: list[Lot] | None = None,
) -> datetime | None:
    """Take points from available lots, soonest-expiring first; returns the latest expiry drawn.

    `lots` may pass the member's available lots already loaded (ordered as available_lots does)."""
    if points <= 0:
        return None
    if points > member.available:
        raise NotEnoughPoints(
            f"Only {max(member.available, 0)} points are available.", max=max(member.available, 0)
        )
    if lots is None:
        lots = await available_lots(session, member.id)
    draws, latest = plan_draws([(lot.remaining, lot.expires_at) for lot in lots], points)
    for index, take in draws:
        lots[index].remaining -= take
        if lots[index].remaining == 0:
            lots[index].status = SPENT
    member.available -= points
    session.add(
        Entry(
            member_id=member.id,
            kind=kind,
            points=-points,
            created_at=now,
            expires_at=latest,
            purchase_id=purchase_id,
            comment=comment,
        )
    )
    return latest


def plan_draws(lots: list[tuple[int, datetime]], points: int) -> tuple[list[tuple[int, int]], datetime | None]:
    """Which lots pay `points`: (index, points taken) soonest-expiring first (lots come sorted so),
    and the latest expiry drawn. Refuses rather than overdraw if the lots fall short."""
    draws, left, latest = [], points, None
    for index, (remaining, expires_at) in enumerate(lots):
        if left == 0:
            break
        if remaining <= 0:
            continue
        take = min(remaining, left)
        draws.append((index, take))
        left -= take
        latest = expires_at if latest is None else max(latest, expires_at)
    if left:  # the running total disagreed with the lots
        raise NotEnoughPoints("The balance is being recomputed; try again.", max=points - left)
    return draws, latest


async def available_lots(session: AsyncSession, member_id: uuid.UUID) -> list[Lot]:
    stmt = (
        select(Lot)
        .where(Lot.member_id == member_id, Lot.status == AVAILABLE, Lot.remaining > 0)
        .order_by(Lot.expires_at, Lot.id)
    )
    return list((await session.execute(stmt)).scalars())


async def reverse(
    session: AsyncSession,
    member: Member,
    points: int,
    now: datetime,
    *,
    purchase_id: uuid.UUID | None,
    comment: str,
) -> None:
    """Take back accrued points: from their own lot, then other available points, then as debt."""
    if points <= 0:
        return
    left = points
    own = None
    if purchase_id is not None:
        own = (await session.execute(
            select(Lot).where(Lot.purchase_id == purchase_id, Lot.source == "purchase")
        )).scalar_one_or_none()
    if own is not None and own.remaining > 0 and own.status in (PENDING, AVAILABLE):
        take = min(own.remaining, left)
        own.remaining -= take
        left -= take
        if own.status == PENDING:
            member.pending -= take
        else:
            member.available -= take
        if own.remaining == 0:
            own.status = REVERSED
    if left:
        for lot in await available_lots(session, member.id):
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            member.available -= take
            if lot.remaining == 0:
                lot.status = SPENT
            if left == 0:
                break
    if left:
        member.debt += left
        member.available -= left
    session.add(
        Entry(
            member_id=member.id,
            kind="refund",
            points=-points,
            created_at=now,
            purchase_id=purchase_id,
            comment=comment,
        )
    )


def activate(member: Member, lot: Lot) -> None:
    """A pending lot becomes spendable (and first repays any debt)."""
    lot.status = AVAILABLE
    member.pending -= lot.remaining
    member.available += lot.remaining
    _repay_debt(member, lot)


def expire(session: AsyncSession, member: Member, lot: Lot, now: datetime) -> int:
    burnt = lot.remaining
    lot.remaining = 0
    lot.status = EXPIRED
    member.available -= burnt
    session.add(
        Entry(
            member_id=member.id,
            kind="expiry",
            points=-burnt,
            created_at=now,
            expires_at=lot.expires_at,
            lot_id=lot.id,
        )
    )
    return burnt


async def paid_spend(session: AsyncSession, member_id: uuid.UUID, as_of: datetime, days: int) -> int:
    """Money paid (minor units, net of refunds) in the rolling window ending at as_of."""
    stmt = select(func.coalesce(func.sum(Purchase.paid - Purchase.refunded_paid), 0)).where(
        Purchase.member_id == member_id,
        Purchase.purchased_at > as_of - timedelta(days=days),
        Purchase.purchased_at <= as_of,
    )
    return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class ExpiringLot:
    points: int
    expires_at: datetime


async def expiring_lots(
    session: AsyncSession, member_id: uuid.UUID, now: datetime, days: int
) -> list[ExpiringLot]:
    stmt = (
        select(Lot.remaining, Lot.expires_at)
        .where(
            Lot.member_id == member_id,
            Lot.status == AVAILABLE,
            Lot.remaining > 0,
            Lot.expires_at <= now + timedelta(days=days),
        )
        .order_by(Lot.expires_at)
    )
    return [ExpiringLot(points, at) for points, at in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class PendingLot:
    points: int
    available_at: datetime


async def pending_lots(session: AsyncSession, member_id: uuid.UUID) -> list[PendingLot]:
    stmt = (
        select(Lot.remaining, Lot.available_at)
        .where(Lot.member_id == member_id, Lot.status == PENDING, Lot.remaining > 0)
        .order_by(Lot.available_at)
    )
    return [PendingLot(points, at) for points, at in (await session.execute(stmt)).all()]
