"""The database dies (kill -9 of the postmaster) while the worker is handing a batch to Telegram, a
provider that cannot be asked afterwards what it already has. The worker holds on to the answers and
records them once the database is back, before its lease runs out: nobody claims the batch again, so
no chat gets a message twice, and every message ends `sent`.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp import web
from sqlalchemy import func, insert, select

from notifications.planner import message_row
from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import Message
from tests.e2e.faults.conftest import Cluster, Processes, process_env, wait_until
from tests.stubs.telegram_api import TelegramApiStub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
TOTAL = 20
CHATS = range(700001, 700001 + TOTAL)


class SlowTelegram(TelegramApiStub):
    """Answers each sendMessage 0.15 s after taking it, and says when it took the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.first = asyncio.Event()

    async def _call(self, request: web.Request) -> web.Response:
        answer = await super()._call(request)
        if request.match_info["method"] == "sendMessage":
            self.first.set()
            await asyncio.sleep(0.15)
        return answer


async def queue_messages(core: Core) -> None:
    now = core.clock.now()
    context = {"language": "ru", "points": 42, "balance": 142, "pending": 42, "available_on": "23.11"}
    rows = [
        message_row(
            source=f"record:{chat}",
            recipient=str(chat),
            member_id=None,
            kind="points_accrued",
            channel="telegram",
            address=str(chat),
            rest=(),
            when=now,
            now=now,
            context=context,
        )
        for chat in CHATS
    ]
    async with core.transaction() as session:
        await session.execute(insert(Message), rows)


async def test_answers_taken_during_an_outage_are_recorded_not_resent(
    cluster: Cluster, fault_core: Core, fault_settings: Settings, processes: Processes
) -> None:
    await queue_messages(fault_core)
    stub = SlowTelegram()
    await stub.start()
    try:
        env = process_env(
            fault_settings,
            LOYALTY_TELEGRAM_TOKEN=stub.token,
            LOYALTY_TELEGRAM_API_URL=stub.url,
            LOYALTY_TELEGRAM_RATE_PER_SECOND="1000",
            LOYALTY_NOTIFY_LEASE_SECONDS="20",
            LOYALTY_NOTIFY_BATCH_SIZE="50",
        )
        processes.start("worker", ["-m", "loyalty.cli", "worker"], env)
        await asyncio.wait_for(stub.first.wait(), 30)
        # the batch is on its way (20 x 0.15 s); the database dies before the worker can record it
        await asyncio.to_thread(cluster.kill_postmaster)
        await asyncio.sleep(4)  # still down when the last answer comes back
        await asyncio.to_thread(cluster.start)

        async def settled() -> dict[str, int] | None:
            async with fault_core.reading() as session:
                counts = dict(
                    (await session.execute(select(Message.status, func.count()).group_by(Message.status))).all()
                )
            return counts if counts == {"sent": TOTAL} else None

        await wait_until(settled, 30, "messages never recorded: " + processes.log("worker"))
        await asyncio.sleep(1)  # a worker that lost the answers would claim and send again now
        sent = Counter(int(fields["chat_id"]) for fields in stub.sent())
    finally:
        await stub.stop()
    assert {chat: n for chat, n in sent.items() if n > 1} == {}, "a chat got its message twice"
    assert set(sent) == set(CHATS)
