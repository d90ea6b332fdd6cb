"""An aggregator that takes a batch and answers only after our timeout: the outcome is unknown to the
worker. It must not send the batch again blindly: the messages stay `sending` until their retry time,
then the worker asks the aggregator by our id (its status request) and records them as sent. Every
message reaches the aggregator exactly once and ends `sent`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from notifications.planner import message_row
from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import Message
from tests.e2e.faults.conftest import Processes, process_env, sms_env, stub_stats, wait_until
from tests.stubs.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
TOTAL = 60


async def queue_messages(core: Core) -> None:
    now = core.clock.now()
    context = {"language": "ru", "points": 42, "balance": 142, "pending": 42, "available_on": "23.11"}
    rows = [
        message_row(
            source=f"timeout:{i}",
            recipient=f"+7916777{i:04d}",
            member_id=None,
            kind="points_accrued",
            channel="sms",
            address=f"+7916777{i:04d}",
            rest=(),
            when=now,
            now=now,
            context=context,
        )
        for i in range(TOTAL)
    ]
    async with core.transaction() as session:
        await session.execute(insert(Message), rows)


async def test_a_provider_answering_after_our_timeout_gets_each_message_once(
    fault_core: Core, fault_settings: Settings, processes: Processes, tmp_path: Path
) -> None:
    await queue_messages(fault_core)
    port = free_port()
    log = tmp_path / "sent.log"
    # the stub takes each batch, then answers 4 s later: after the worker's 1 s timeout
    processes.start("stub", ["-m", "tests.stubs.smsc", "--port", str(port), "--log", str(log), "--delay", "4"])
    env = process_env(
        fault_settings,
        **sms_env(port, LOYALTY_SMS_REQUEST_TIMEOUT="1", LOYALTY_SMS_BATCH_SIZE="20"),
        LOYALTY_NOTIFY_RETRY_BASE_SECONDS="0.5",
        LOYALTY_NOTIFY_MAX_ATTEMPTS="10",
        LOYALTY_NOTIFY_BATCH_SIZE="20",
    )
    async with httpx.AsyncClient() as http:
        await wait_until(lambda: stub_stats(http, port), 20, "the stub did not start")
        processes.start("worker", ["-m", "loyalty.cli", "worker"], env)

        async def settled() -> dict[str, int] | None:
            async with fault_core.reading() as session:
                counts = dict(
                    (await session.execute(select(Message.status, func.count()).group_by(Message.status))).all()
                )
            return counts if set(counts) <= {"sent", "delivered", "undeliverable"} else None

        counts = await wait_until(settled, 45, "messages never settled: " + processes.log("worker"))
        stats = await stub_stats(http, port)
    async with fault_core.reading() as session:
        attempts = (await session.execute(select(func.max(Message.attempts)))).scalar_one()
        errors = set((await session.execute(select(Message.error).where(Message.error.is_not(None)))).scalars())
    print(f"statuses {counts}, stub {stats['accepted']} accepted in {stats['requests']} requests, attempts {attempts}")
    assert attempts >= 2, "no message timed out: nothing proved"
    assert stats["duplicates"] == {}, f"sent twice after a timeout: {len(stats['duplicates'])} messages"
    assert counts == {"sent": TOTAL}, (counts, errors)
    logged = log.read_text(encoding="utf-8").split()
    assert len(logged) == TOTAL == len(set(logged))
