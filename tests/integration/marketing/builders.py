"""Members, purchases and consents for segment and campaign tests, written the way the core writes them."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from shared.core import Core
from shared.db.models import Member, Purchase
from shared.members import Registration, register, set_consent


async def member(
    core: Core, n: int, *, consents: tuple[str, ...] = ("sms",), created: datetime | None = None, **fields: Any
) -> uuid.UUID:
    async with core.transaction() as session:
        m, _ = await register(session, core.clock, core.rules, Registration(phone=f"+7916{n:07d}", **fields))
        for channel in consents:
            await set_consent(session, core.clock, m, channel, True, "test", "form")
        if created is not None:
            m.created_at = created
        return m.id


async def bought(core: Core, member_id: uuid.UUID, at: datetime, paid: int, redeemed: int = 0) -> None:
    """A confirmed purchase as the till leaves it in the purchases table."""
    async with core.transaction() as session:
        session.add(
            Purchase(
                store_id="msk-001",
                receipt_id=uuid.uuid4().hex[:20],
                member_id=member_id,
                purchased_at=at,
                created_at=at,
                request_hash="x" * 64,
                total=paid + redeemed * 100,
                discount=0,
                redeemed=redeemed,
                paid=paid,
                accrued=0,
                lines=[],
                refunded_lines={},
                response={},
            )
        )
        current = await session.get(Member, member_id)
        assert current is not None
        if current.last_purchase_at is None or current.last_purchase_at < at:
            await session.execute(update(Member).where(Member.id == member_id).values(last_purchase_at=at))


def days_ago(core: Core, days: float) -> datetime:
    return core.clock.now() - timedelta(days=days)


BIRTH = date(1990, 12, 30)
