"""The points ledger: immutable entries over lots, with the member row as the write lock.

Invariant: for every member, sum(entries.points) == available + pending, where
available = points in available lots - debt. Debt only arises when a refund reverses
accrued points that were already spent; new points repay it as they become available.
The rules themselves (which lots pay, how new points repay debt) are shared.ledger_plan's,
applied here to ORM objects and in shared.receipt_ledger to the till's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Entry, Lot, Member, Purchase
from shared.errors import NotFound
from shared.ledger_plan import (  # the lot statuses are read as ledger.AVAILABLE etc. too
    AVAILABLE,
    EXPIRED,
    PENDING,
    REVERSED,  # noqa: F401
    SPENT,  # noqa: F401
    Draw,
    check_balance,
    draw,
    own_lot_take,
    plan_accrual,
    plan_spend,
    repay,
)


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
    accrual = plan_accrual(points, member.debt, available=available_at <= now)
    lot = Lot(
        member_id=member.id,
        source=source,
        points=points,
        remaining=accrual.remaining,
        status=accrual.status,
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
    member.available += accrual.to_available
    member.pending += accrual.to_pending
    member.debt -= accrual.repaid
    return lot


def _apply(lots: list[Lot], draws: list[Draw]) -> None:
    for d in draws:
        lots[d.index].remaining, lots[d.index].status = d.remaining, d.status


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
    check_balance(member.available, points)  # before reading any lot
    if lots is None:
        lots = await available_lots(session, member.id)
    drawing = plan_spend(member.available, [(lot.remaining, lot.expires_at) for lot in lots], points)
    _apply(lots, drawing.draws)
    latest = drawing.latest
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
        own = (
            await session.execute(select(Lot).where(Lot.purchase_id == purchase_id, Lot.source == "purchase"))
        ).scalar_one_or_none()
    if own is not None:
        take, status = own_lot_take(points, own.remaining, own.status)
        if take:
            if own.status == PENDING:
                member.pending -= take
            else:
                member.available -= take
            own.remaining, own.status = own.remaining - take, status
            left -= take
    if left:  # the own lot, emptied or not available, is not among these
        lots = await available_lots(session, member.id)
        drawing = draw([(lot.remaining, lot.expires_at) for lot in lots], left)
        _apply(lots, drawing.draws)
        member.debt += drawing.short
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
    member.pending -= lot.remaining
    member.available += lot.remaining
    repayment = repay(member.debt, lot.remaining)
    lot.remaining, lot.status = repayment.remaining, repayment.status
    member.debt -= repayment.repaid


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


async def expiring_lots(session: AsyncSession, member_id: uuid.UUID, now: datetime, days: int) -> list[ExpiringLot]:
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
