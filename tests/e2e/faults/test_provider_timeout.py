"""A provider that takes a message and answers only after our timeout: the outcome is unknown to the
worker, which must never send it again blindly.

- The SMSC stand-in (HTTP, can be asked by our id): the messages stay `sending` until their retry, then
  the worker asks (its status request) and records them as sent. Every message reaches it once, `sent`.
- Each real peer (SMPP, Postfix, telegram-test-api, web push): none can be asked, so a message taken and
  never answered ends `undeliverable` with its unknown outcome in `error` and is not resent; the peer
  holds every message exactly once, the others end sent.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import Message
from tests.e2e.faults.conftest import Processes, process_env, sms_env, stub_stats, wait_until
from tests.e2e.faults.peers import FaultPeer
from tests.e2e.faults.support import outcomes, queue_messages, settled
from tests.stubs.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
TOTAL = 60
PEER_TOTAL, STALLED = 12, 3


async def test_a_provider_answering_after_our_timeout_gets_each_message_once(
    fault_core: Core, fault_settings: Settings, processes: Processes, tmp_path: Path
) -> None:
    await queue_messages(fault_core, "sms", [f"+7916777{i:04d}" for i in range(TOTAL)], source="timeout")
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
        counts = await wait_until(lambda: settled(fault_core), 45, "messages never settled: " + processes.log("worker"))
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


async def test_a_peer_that_takes_a_message_and_never_answers_has_it_once(
    peer: FaultPeer, fault_core: Core, fault_settings: Settings, processes: Processes
) -> None:
    sent = await queue_messages(fault_core, peer.channel, peer.addresses(PEER_TOTAL), source="stall")
    peer.stall(STALLED)
    env = process_env(
        fault_settings,
        **peer.worker_env(),
        LOYALTY_NOTIFY_RETRY_BASE_SECONDS="0.5",
        LOYALTY_NOTIFY_MAX_ATTEMPTS="10",
        LOYALTY_NOTIFY_BATCH_SIZE="20",
    )
    processes.start("worker", ["-m", "loyalty.cli", "worker"], env)
    counts = await wait_until(lambda: settled(fault_core), 30, "messages never settled: " + processes.log("worker"))
    received = await peer.received(sent)
    ended = await outcomes(fault_core)
    print(f"statuses {counts}; stalled {peer.stalled()}; received {sorted(received.values())}")
    assert peer.stalled() == STALLED, "the peer answered everything in time: nothing proved"
    assert received == dict.fromkeys(sent, 1), "a message taken without an answer was sent again, or lost"
    unknown = {mid for mid, (status, _, _) in ended.items() if status == "undeliverable"}
    assert len(unknown) == STALLED, ended
    assert all(peer.unknown_error in str(ended[mid][2]) for mid in unknown), ended
    assert counts.get("sent", 0) + counts.get("delivered", 0) == PEER_TOTAL - STALLED, counts
