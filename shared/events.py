"""Domain events go to the outbox inside the transaction that made the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import OutboxEvent


class EventKind(StrEnum):
    MEMBER_REGISTERED = "member_registered"
    POINTS_ACCRUED = "points_accrued"
    POINTS_AVAILABLE = "points_available"
    POINTS_REDEEMED = "points_redeemed"
    POINTS_EXPIRED = "points_expired"
    POINTS_EXPIRING = "points_expiring"
    TIER_CHANGED = "tier_changed"
    PURCHASE_REFUNDED = "purchase_refunded"
    BIRTHDAY = "birthday"
    POINTS_ADJUSTED = "points_adjusted"
    LOGIN_CODE = "login_code"
    BONUS_GRANTED = "bonus_granted"
    EMAIL_CONFIRMATION = "email_confirmation"
    MEMBER_UPDATED = "member_updated"  # for webhooks; no message of its own
    CAMPAIGN_FINISHED = "campaign_finished"  # for webhooks; member_id is None
    WALLET_REVOKED = "wallet_revoked"  # an erased member's old pass: {"serial": the old wallet serial}


# Events after which a member's balance or tier (and so the wallet card) changed.
BALANCE_EVENTS = frozenset(
    {
        EventKind.MEMBER_REGISTERED,
        EventKind.POINTS_ACCRUED,
        EventKind.POINTS_AVAILABLE,
        EventKind.POINTS_REDEEMED,
        EventKind.POINTS_EXPIRED,
        EventKind.TIER_CHANGED,
        EventKind.PURCHASE_REFUNDED,
        EventKind.POINTS_ADJUSTED,
        EventKind.BONUS_GRANTED,
    }
)


async def emit(
    session: AsyncSession,
    kind: EventKind,
    member_id: uuid.UUID | None,
    payload: dict[str, Any],
    at: datetime,
    dedup_key: str | None = None,
) -> None:
    """Add an event; with a dedup_key an event already written is silently kept as it was."""
    if dedup_key is None:
        session.add(OutboxEvent(kind=kind.value, member_id=member_id, payload=payload, created_at=at))
        return
    values = {
        "kind": kind.value,
        "member_id": member_id,
        "payload": payload,
        "created_at": at,
        "dedup_key": dedup_key,
        "attempts": 0,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(OutboxEvent).values(**values).on_conflict_do_nothing())


def event_row(kind: EventKind, member_id: uuid.UUID | None, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"kind": kind.value, "member_id": member_id, "payload": payload, "created_at": at, "attempts": 0}
