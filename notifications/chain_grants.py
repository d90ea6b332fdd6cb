"""The one place a trigger chain grants points (to be swapped for the promotions' grants service)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventKind, emit
from shared.ledger import add_lot, lock_member


async def grant_bonus(session: AsyncSession, member_id: uuid.UUID, points: int, now: datetime, *,
                      expires_days: int, reason: str) -> None:
    """Credit `points` available at once, with an outbox event (the wallet card and the balance update).
    The caller makes it once per (step, member): it runs in the transaction that moves the member on."""
    member = await lock_member(session, member_id)
    add_lot(session, member, kind="bonus", source="chain", points=points, now=now, available_at=now,
            expires_at=now + timedelta(days=expires_days), comment=reason[:300])
    await emit(session, EventKind.POINTS_ADJUSTED, member.id, {"points": points, "reason": reason}, now,
               dedup_key=reason[:200])
