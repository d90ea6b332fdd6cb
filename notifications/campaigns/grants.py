"""A trigger chain's bonus step, granted through the core's one bonus path (shared.promotions.grants)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.ledger import lock_member
from shared.promotions.grants import credit_bonus


async def grant_bonus(
    session: AsyncSession, member_id: uuid.UUID, points: int, now: datetime, *, expires_days: int, reason: str
) -> None:
    """The caller makes it once per (step, member): it runs in the transaction that moves the member on."""
    member = await lock_member(session, member_id)
    await credit_bonus(
        session, member, points, now, now + timedelta(days=expires_days), source="chain", name=reason, key=reason
    )
