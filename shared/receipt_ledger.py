"""The confirm hot path in SQL expressions, in few round trips: one locked read of the member with
their spend, segments and the API key's liveness; one read of an earlier answer to the same receipt
joined to the member's available lots; then every write of the receipt at once (one statement on
PostgreSQL, a few on SQLite). Same rules as shared.ledger, which serves the colder paths (refunds,
jobs) through the ORM: both apply shared.ledger_plan's plans."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.apikeys import KEY_IS_LIVE, check_params, refuse
from shared.db.models import Entry, Lot, Member, OutboxEvent, Purchase, SegmentMember
from shared.errors import NotFound
from shared.ledger_plan import AVAILABLE, plan_accrual, plan_spend

M, L, E, P, SM = Member.__table__, Lot.__table__, Entry.__table__, Purchase.__table__, SegmentMember.__table__
OUTBOX = OutboxEvent.__table__


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
        KEY_IS_LIVE,
    ).where(column == bindparam("key"))
    return stmt.with_for_update(of=M) if postgres else stmt


_LOCKS = {(name, pg): _lock_statement(M.c[name], pg) for name in ("phone", "card_number", "id") for pg in (True, False)}
_ONE = select(literal(1).label("one")).subquery("one")
# An earlier answer to this receipt, else the member's available lots (soonest-expiring first): one
# row with the stored purchase, or one row per lot (one empty row when there are none).
_PRIOR_OR_LOTS = (
    select(P.c.id, P.c.request_hash, P.c.response, L.c.id, L.c.remaining, L.c.expires_at)
    .select_from(
        _ONE.outerjoin(
            P, and_(P.c.store_id == bindparam("store_id"), P.c.receipt_id == bindparam("receipt_id"))
        ).outerjoin(
            L,
            and_(
                P.c.id.is_(None),
                L.c.member_id == bindparam("member_id"),
                L.c.status == AVAILABLE,
                L.c.remaining > 0,
            ),
        )
    )
    .order_by(L.c.expires_at, L.c.id)
)
_UPDATE_LOT = (
    update(L)
    .where(L.c.id == bindparam("lot_id"))
    .values(remaining=bindparam("new_remaining"), status=bindparam("new_status"))
)


async def lock_member(
    conn: AsyncConnection,
    column: str,
    key: Any,
    as_of: datetime,
    window_days: int,
    missing: str,
    api_key_id: int | None = None,
) -> tuple[MemberState, int]:
    """Lock the member and read what the till needs; `api_key_id`, the request's key still to
    check (shared.apikeys), is checked in the same statement: KeyRevoked before anything else."""
    postgres = conn.dialect.name == "postgresql"
    params = {"key": key, "since": as_of - timedelta(days=window_days), "as_of": as_of} | check_params(api_key_id)
    row = (await conn.execute(_LOCKS[(column, postgres)], params)).one_or_none()
    if row is None:
        if api_key_id is not None and not (await conn.execute(select(KEY_IS_LIVE), check_params(api_key_id))).scalar():
            raise refuse(api_key_id)
        raise NotFound(missing)
    if api_key_id is not None and not row[10]:
        raise refuse(api_key_id)
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


@dataclass(frozen=True)
class Prior:
    """The purchase already recorded for this receipt."""

    id: uuid.UUID
    request_hash: str
    response: dict[str, Any]


async def prior_or_lots(
    conn: AsyncConnection, store_id: str, receipt_id: str, member_id: uuid.UUID
) -> tuple[Prior | None, list[LotRow]]:
    """After the member's lock (so a twin's commit is seen): the receipt's earlier answer, or the lots."""
    rows = (
        await conn.execute(_PRIOR_OR_LOTS, {"store_id": store_id, "receipt_id": receipt_id, "member_id": member_id})
    ).all()
    if rows and rows[0][0] is not None:
        return Prior(rows[0][0], rows[0][1], rows[0][2]), []
    return None, [LotRow(row[3], row[4], row[5]) for row in rows if row[3] is not None]


class Writes:
    """Rows to write for one receipt, planned in memory and written together by flush()."""

    def __init__(self) -> None:
        self.lot_updates: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.new_lot: dict[str, Any] | None = None
        self.accrual_entry: dict[str, Any] | None = None

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

    def accrue(
        self,
        member: MemberState,
        points: int,
        now: datetime,
        available_at: datetime,
        expires_at: datetime,
        purchase_id: uuid.UUID,
        comment: str,
    ) -> LotRow:
        """The receipt's new lot (its id is the database's, given when flush() writes it)."""
        accrual = plan_accrual(points, member.debt, available=available_at <= now)
        remaining, status = accrual.remaining, accrual.status
        member.available += accrual.to_available
        member.pending += accrual.to_pending
        member.debt -= accrual.repaid
        self.new_lot = {
            "member_id": member.id,
            "source": "purchase",
            "points": points,
            "remaining": remaining,
            "status": status,
            "created_at": now,
            "available_at": available_at,
            "expires_at": expires_at,
            "purchase_id": purchase_id,
        }
        self.accrual_entry = {
            "member_id": member.id,
            "kind": "accrual",
            "points": points,
            "created_at": now,
            "available_at": available_at,
            "expires_at": expires_at,
            "purchase_id": purchase_id,
            "comment": comment,
        }
        return LotRow(0, remaining, expires_at, status)

    def _member_values(self, member: MemberState, tier_changed: bool, now: datetime) -> dict[str, Any]:
        values_: dict[str, Any] = {
            "available": member.available,
            "pending": member.pending,
            "debt": member.debt,
            "last_purchase_at": member.last_purchase_at,
            "updated_at": now,
        }
        if tier_changed:
            values_ |= {"tier_code": member.tier_code, "tier_changed_at": now}
        return values_

    async def flush(
        self,
        conn: AsyncConnection,
        member: MemberState,
        tier_changed: bool,
        now: datetime,
        purchase: dict[str, Any],
        events: list[dict[str, Any]],
    ) -> None:
        """The purchase row (with its answer), the new lot, the entries, the lots drawn from, the
        member's running totals and the outbox events: one statement on PostgreSQL."""
        if conn.dialect.name == "postgresql":
            await conn.execute(*self._one_statement(member, tier_changed, now, purchase, events))
            return
        await conn.execute(P.insert(), purchase)
        entries = list(self.entries)
        if self.new_lot is not None and self.accrual_entry is not None:
            lot_id = (await conn.execute(L.insert().returning(L.c.id), self.new_lot)).scalar_one()
            entries.append(self.accrual_entry | {"lot_id": lot_id})
        if entries:
            await conn.execute(E.insert(), entries)
        if self.lot_updates:
            await conn.execute(_UPDATE_LOT, self.lot_updates)
        await conn.execute(update(M).where(M.c.id == member.id).values(self._member_values(member, tier_changed, now)))
        if events:
            await conn.execute(OUTBOX.insert(), events)

    def _one_statement(
        self,
        member: MemberState,
        tier_changed: bool,
        now: datetime,
        purchase: dict[str, Any],
        events: list[dict[str, Any]],
    ) -> tuple[Any, dict[str, Any]]:
        """The statement for this shape of receipt (built once per shape, so SQLAlchemy compiles it
        once) and its parameters."""
        params: dict[str, Any] = {}

        def put(prefix: str, row: dict[str, Any]) -> tuple[str, ...]:
            for name, value in row.items():
                params[f"{prefix}_{name}"] = value
            return tuple(row)

        lot, accrual = self.new_lot, self.accrual_entry
        shape = _Shape(
            put("p", purchase),
            put("l", lot) if lot is not None else None,
            put("a", accrual) if accrual is not None else None,
            tuple(put(f"e{i}", row) for i, row in enumerate(self.entries)),
            len(self.lot_updates),
            put("m", self._member_values(member, tier_changed, now) | {"id": member.id}),
            tuple(put(f"o{i}", row) for i, row in enumerate(events)),
        )
        for i, drawn in enumerate(self.lot_updates):
            put(f"d{i}", drawn)
        return _writes_statement(shape), params


@dataclass(frozen=True)
class _Shape:
    """Which columns each part of a receipt's writes has (the parameters are named by part)."""

    purchase: tuple[str, ...]
    lot: tuple[str, ...] | None
    accrual: tuple[str, ...] | None
    entries: tuple[tuple[str, ...], ...]
    draws: int
    member: tuple[str, ...]
    events: tuple[tuple[str, ...], ...]


def _binds(table: Any, prefix: str, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns}


@functools.lru_cache(maxsize=256)
def _writes_statement(shape: _Shape) -> Any:
    """PostgreSQL's data-modifying CTEs: every write of a receipt in one round trip (foreign keys
    are checked at the end of the statement, when the purchase and the lot exist)."""
    ctes = [insert(P).values(_binds(P, "p", shape.purchase)).returning(P.c.id).cte("w_purchase")]
    if shape.lot is not None and shape.accrual is not None:
        lot = insert(L).values(_binds(L, "l", shape.lot)).returning(L.c.id).cte("w_lot")
        accrual = _binds(E, "a", shape.accrual)
        ctes += [
            lot,
            insert(E)
            .from_select([*accrual, "lot_id"], select(*accrual.values(), lot.c.id))
            .returning(E.c.id)
            .cte("w_accrual"),
        ]
    # one single-row INSERT per row: SQLAlchemy does not cache multi-row VALUES, so it would compile each time
    for i, cols in enumerate(shape.entries):
        ctes.append(insert(E).values(_binds(E, f"e{i}", cols)).returning(E.c.id).cte(f"w_entry{i}"))
    for i in range(shape.draws):
        ctes.append(
            update(L)
            .where(L.c.id == bindparam(f"d{i}_lot_id", type_=L.c.id.type))
            .values(
                remaining=bindparam(f"d{i}_new_remaining", type_=L.c.remaining.type),
                status=bindparam(f"d{i}_new_status", type_=L.c.status.type),
            )
            .returning(L.c.id)
            .cte(f"w_drawn{i}")
        )
    member = _binds(M, "m", shape.member)
    member_id = member.pop("id")
    ctes.append(update(M).where(M.c.id == member_id).values(member).returning(M.c.id).cte("w_member"))
    for i, cols in enumerate(shape.events):
        ctes.append(insert(OUTBOX).values(_binds(OUTBOX, f"o{i}", cols)).returning(OUTBOX.c.id).cte(f"w_event{i}"))
    return select(literal(1)).add_cte(*ctes)
