"""Several workers (each with its own connection pool, as separate processes have) share the outbox and the
message queue: every event is planned by exactly one of them and every message handed to a provider once.
Also run through PgBouncer in transaction mode (LOYALTY_TEST_DB=pgbouncer)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import NotifierSettings, Settings
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.messages import Message
from shared.members import Registration, register

pytestmark = [pytest.mark.postgres_only, pytest.mark.pgbouncer]

MEMBERS = 40
WORKERS = 4
CHANNELS = ("sms", "viber", "email", "push", "telegram")


class RecordingChannel:
    """A provider that accepts everything and remembers which message ids it was given."""

    def __init__(self, name: str, seen: list[int]) -> None:
        self.name, self.batch_size, self.seen = name, 3, seen

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        self.seen.append(message.id)
        await asyncio.sleep(0)  # let the other workers in between
        return DeliveryResult(DeliveryStatus.DELIVERED, provider_id=f"{self.name}-{message.id}")

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        return None


async def test_four_workers_claim_disjoint_events_and_messages(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    for n in range(MEMBERS):
        async with core.transaction() as session:
            await register(session, core.clock, core.rules, Registration(phone=f"+7912{n:07d}", consents={"sms": True}))
    async with core.reading() as session:
        event_ids = set((await session.execute(select(OutboxEvent.id))).scalars())
    assert len(event_ids) >= MEMBERS

    small = settings.model_copy(update={"notify": NotifierSettings(batch_size=3)})  # many small claims
    cores = [Core(small, clock) for _ in range(WORKERS)]
    planned: list[list[int]] = [[] for _ in range(WORKERS)]
    sent: list[list[int]] = [[] for _ in range(WORKERS)]

    def recorder(into: list[int]) -> Any:
        async def listener(_core: Core, _session: AsyncSession, events: list[OutboxEvent]) -> None:
            into.extend(event.id for event in events)
            await asyncio.sleep(0.01)  # hold the claim while the others look

        return listener

    workers = [
        Worker(c, {name: RecordingChannel(name, sent[i]) for name in CHANNELS}, listeners=[recorder(planned[i])])
        for i, c in enumerate(cores)
    ]
    try:

        async def plan(worker: Worker) -> None:
            while await worker.process_outbox():
                pass

        await asyncio.gather(*(plan(w) for w in workers))
        assert await workers[0].process_outbox() == 0  # nothing left behind
        every = [event_id for ids in planned for event_id in ids]
        assert len(every) == len(set(every)), "an event was claimed by two workers"
        assert set(every) == event_ids
        assert sum(1 for ids in planned if ids) >= 2  # the work was really shared

        async def send(worker: Worker) -> None:
            while await worker.send_due():
                pass

        await asyncio.gather(*(send(w) for w in workers))
        async with core.reading() as session:
            rows = list((await session.execute(select(Message))).scalars())
        handed = [message_id for ids in sent for message_id in ids]
        assert len(rows) >= MEMBERS
        assert len(handed) == len(set(handed)), "a message was handed to a provider twice"
        assert set(handed) == {m.id for m in rows}
        assert {m.status for m in rows} == {"delivered"}
        assert sum(1 for ids in sent if ids) >= 2
    finally:
        for c in cores:
            await c.close()
