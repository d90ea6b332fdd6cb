"""The confirm hot path in SQL expressions: one locked read of the member with their spend,
one read of their available lots, then a handful of writes. Same rules as shared.ledger, which
serves the colder paths (refunds, jobs) through the ORM: both apply shared.ledger_plan's plans."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.models import Entry, Lot, Member, Purchase, SegmentMember
from shared.errors import NotFound
from shared.ledger_plan import AVAILABLE, plan_accrual, plan_spend

M, L, E, P, SM = Member.__table__, Lot.__table__, Entry.__table__, Purchase.__table__, SegmentMember.__table__


@dataclass
class MemberState:
    """The columns of a member the till's answer needs, mutated in memory and written once."""

    id: uuid.UUID
    tier_code: str
    available: int
    pending: int
    debt: int
    birth_date: date | None
    time_zone: str | None
    last_purchase_at: datetime | None
    segment_ids: frozenset[int] = frozenset()  # saved audiences the member is in (promotion targeting)


def _lock_statement(column: Any, postgres: bool) -> Any:
    spend = (
        select(func.coalesce(func.sum(P.c.paid - P.c.refunded_paid), 0))
        .where(P.c.member_id == M.c.id, P.c.purchased_at > bindparam("since"), P.c.purchased_at <= bindparam("as_of"))
        .scalar_subquery()
    )
    aggregate = (
        func.string_agg(cast(SM.c.segment_id, String), ",") if postgres else func.group_concat(SM.c.segment_id, ",")
    )
    segments = select(aggregate).where(SM.c.member_id == M.c.id).scalar_subquery()
    stmt = select(
        M.c.id,
        M.c.tier_code,
        M.c.available,
        M.c.pending,
        M.c.debt,
        M.c.birth_date,
        M.c.time_zone,
        M.c.last_purchase_at,
        spend,
        segments,
    ).where(column == bindparam("key"))
    return stmt.with_for_update(of=M) if postgres else stmt


_LOCKS = {(name, pg): _lock_statement(M.c[name], pg) for name in ("phone", "card_number", "id") for pg in (True, False)}
_LOTS = (
    select(L.c.id, L.c.remaining, L.c.expires_at)
    .where(L.c.member_id == bindparam("member_id"), L.c.status == AVAILABLE, L.c.remaining > 0)
    .order_by(L.c.expires_at, L.c.id)
)
_UPDATE_LOT = (
    update(L)
    .where(L.c.id == bindparam("lot_id"))
    .values(remaining=bindparam("new_remaining"), status=bindparam("new_status"))
)
_UPDATE_MEMBER = (
    update(M)
    .where(M.c.id == bindparam("member_id"))
    .values(
        available=bindparam("v_available"),
        pending=bindparam("v_pending"),
        debt=bindparam("v_debt"),
        last_purchase_at=bindparam("v_last"),
        updated_at=bindparam("v_now"),
    )
)
_UPDATE_TIER = (
    update(M)
    .where(M.c.id == bindparam("member_id"))
    .values(tier_code=bindparam("v_tier"), tier_changed_at=bindparam("v_now"))
)


async def lock_member(
    conn: AsyncConnection, column: str, key: Any, as_of: datetime, window_days: int, missing: str
) -> tuple[MemberState, int]:
    postgres = conn.dialect.name == "postgresql"
    row = (
        await conn.execute(
            _LOCKS[(column, postgres)], {"key": key, "since": as_of - timedelta(days=window_days), "as_of": as_of}
        )
    ).one_or_none()
    if row is None:
        raise NotFound(missing)
    segment_ids = frozenset(int(s) for s in row[9].split(",")) if row[9] else frozenset()
    state = MemberState(*row[:8])
    state.segment_ids = segment_ids
    return state, int(row[8])


@dataclass
class LotRow:
    id: int
    remaining: int
    expires_at: datetime
    status: str = AVAILABLE


async def available_lots(conn: AsyncConnection, member_id: uuid.UUID) -> list[LotRow]:
    rows = (await conn.execute(_LOTS, {"member_id": member_id})).all()
    return [LotRow(*row) for row in rows]


class Writes:
    """Rows to write for one receipt, flushed in a few statements."""

    def __init__(self) -> None:
        self.lot_updates: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []

    def spend(
        self, member: MemberState, lots: list[LotRow], points: int, now: datetime, purchase_id: uuid.UUID, comment: str
    ) -> datetime | None:
        drawing = plan_spend(member.available, [(lot.remaining, lot.expires_at) for lot in lots], points)
        for d in drawing.draws:
            lot = lots[d.index]
            lot.remaining, lot.status = d.remaining, d.status
            self.lot_updates.append({"lot_id": lot.id, "new_remaining": lot.remaining, "new_status": lot.status})
        latest = drawing.latest
        member.available -= points
        self.entries.append(
            {
                "member_id": member.id,
                "kind": "redemption",
                "points": -points,
                "created_at": now,
                "available_at": None,
                "expires_at": latest,
                "purchase_id": purchase_id,
                "lot_id": None,
                "comment": comment,
            }
        )
        return latest

    async def accrue(
        self,
        conn: AsyncConnection,
        member: MemberState,
        points: int,
        now: datetime,
        available_at: datetime,
        expires_at: datetime,
        purchase_id: uuid.UUID,
        comment: str,
    ) -> LotRow:
        accrual = plan_accrual(points, member.debt, available=available_at <= now)
        remaining, status = accrual.remaining, accrual.status
        member.available += accrual.to_available
        member.pending += accrual.to_pending
        member.debt -= accrual.repaid
        lot_id = (
            await conn.execute(
                L.insert().returning(L.c.id),
                {
                    "member_id": member.id,
                    "source": "purchase",
                    "points": points,
                    "remaining": remaining,
                    "status": status,
                    "created_at": now,
                    "available_at": available_at,
                    "expires_at": expires_at,
                    "purchase_id": purchase_id,
                },
            )
        ).scalar_one()
        self.entries.append(
            {
                "member_id": member.id,
                "kind": "accrual",
                "points": points,
                "created_at": now,
                "available_at": available_at,
                "expires_at": expires_at,
                "purchase_id": purchase_id,
                "lot_id": lot_id,
                "comment": comment,
            }
        )
        return LotRow(lot_id, remaining, expires_at, status)

    async def flush(self, conn: AsyncConnection, member: MemberState, tier_changed: bool, now: datetime) -> None:
        if self.lot_updates:
            await conn.execute(_UPDATE_LOT, self.lot_updates)
        if self.entries:
            await conn.execute(E.insert(), self.entries)
        await conn.execute(
            _UPDATE_MEMBER,
            {
                "member_id": member.id,
                "v_available": member.available,
                "v_pending": member.pending,
                "v_debt": member.debt,
                "v_last": member.last_purchase_at,
                "v_now": now,
            },
        )
        if tier_changed:
            await conn.execute(_UPDATE_TIER, {"member_id": member.id, "v_tier": member.tier_code, "v_now": now})
