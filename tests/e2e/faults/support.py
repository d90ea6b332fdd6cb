"""Queueing messages for the fault tests and counting how they ended, shared by every fault scenario
(the SMSC stand-in's and each real peer's, tests/e2e/faults/peers.py) and by the crash test."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select

from notifications.planner import message_row
from shared.core import Core
from shared.db.models.messages import Message

# what notifications.recipients.message_context gives a 'points accrued' message, for every channel
CONTEXT = {
    "language": "ru",
    "program": "Loyalty",
    "points": 42,
    "balance": 142,
    "pending": 42,
    "available_on": "23.11",
    "card_url": "https://shop.example/card",
    "unsubscribe_url": None,
    "unsubscribe_label": "Отписаться",
}
SETTLED = frozenset({"sent", "delivered", "undeliverable"})


async def queue_messages(core: Core, channel: str, addresses: Sequence[str], *, source: str) -> dict[int, str]:
    """One due 'points accrued' message per address on ``channel``, rendered as the planner would;
    returns message id -> address."""
    now = core.clock.now()
    rows = [
        message_row(
            source=f"{source}:{i}",
            recipient=f"{source}:{i}",
            member_id=None,
            kind="points_accrued",
            channel=channel,
            address=address,
            rest=(),
            when=now,
            now=now,
            context=CONTEXT,
        )
        for i, address in enumerate(addresses)
    ]
    async with core.transaction() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Message), rows[start : start + 1000])
    async with core.reading() as session:
        return dict((await session.execute(select(Message.id, Message.address))).all())


async def statuses(core: Core) -> dict[str, int]:
    async with core.reading() as session:
        rows = await session.execute(select(Message.status, func.count()).group_by(Message.status))
        return dict(rows.all())


async def settled(core: Core) -> dict[str, int] | None:
    """The status counts once no message is queued, sending or waiting for a retry; None before."""
    counts = await statuses(core)
    return counts if set(counts) <= SETTLED else None


async def outcomes(core: Core) -> dict[int, tuple[str, int, str | None]]:
    """Message id -> (status, attempts, error)."""
    async with core.reading() as session:
        rows = await session.execute(select(Message.id, Message.status, Message.attempts, Message.error))
        return {mid: (status, attempts, error) for mid, status, attempts, error in rows}
