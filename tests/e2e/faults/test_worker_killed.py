"""A worker killed (SIGKILL) in the middle of a batch.

- The SMSC stand-in: two workers share a fan-out; the one holding the scheduler lease is killed. The other
  takes over what the dead one held once its leases expire: the messages it had claimed (it asks the
  aggregator by our id which of them it already took) and the scheduler lease. No message is sent twice,
  none is lost, as the aggregator stub's own log shows.
- Each real peer (SMPP, Postfix, telegram-test-api, web push), with one worker killed and started again:
  every message reaches the peer, counted at the peer. None of them can be asked what it already has, so
  the messages the dead worker had claimed and not yet recorded are sent again: at least once, and only
  those (at most one claimed batch) can arrive twice, as docs/channels.md says.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from notifications.liveness import lease_holder
from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import Message
from tests.e2e.faults.conftest import Processes, process_env, sms_env, stub_stats, wait_until
from tests.e2e.faults.peers import FaultPeer
from tests.e2e.faults.support import outcomes, queue_messages, settled, statuses
from tests.stubs.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
TOTAL = 4000
PEER_TOTAL, PEER_BATCH = 120, 20


async def test_a_worker_killed_mid_batch_is_taken_over_by_another(
    fault_core: Core, fault_settings: Settings, processes: Processes, tmp_path: Path
) -> None:
    await queue_messages(fault_core, "sms", [f"+7916888{i:04d}" for i in range(TOTAL)], source="killed")
    port = free_port()
    log = tmp_path / "sent.log"
    # each batch is answered 0.3 s after the stub took it: a kill then lands between "taken" and "recorded"
    processes.start("stub", ["-m", "tests.stubs.smsc", "--port", str(port), "--log", str(log), "--delay", "0.3"])
    env = process_env(
        fault_settings,
        **sms_env(port),
        LOYALTY_NOTIFY_LEASE_SECONDS="5",
        LOYALTY_NOTIFY_BATCH_SIZE="200",
        LOYALTY_NOTIFY_LEADER_LEASE_SECONDS="3",
        LOYALTY_NOTIFY_LEADER_RENEW_SECONDS="0.5",
    )
    async with httpx.AsyncClient() as http:
        await wait_until(lambda: stub_stats(http, port), 20, "the stub did not start")
        first = processes.start("worker-1", ["-m", "loyalty.cli", "worker"], env)

        async def leader() -> str | None:
            held = await lease_holder(fault_core)
            return held[0] if held else None

        assert (await wait_until(leader, 30, "worker 1 never took the scheduler lease")).endswith(f":{first.pid}")
        second = processes.start("worker-2", ["-m", "loyalty.cli", "worker"], env)

        async def accepted(at_least: int) -> bool:
            return int((await stub_stats(http, port))["accepted"]) >= at_least

        await wait_until(lambda: accepted(1000), 60, "nothing sent: " + processes.log("worker-1"))
        seen = (await stub_stats(http, port))["accepted"]

        async def just_taken() -> bool:
            return bool((await stub_stats(http, port))["accepted"] != seen)

        await wait_until(just_taken, 10, "the workers stopped sending")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        assert int((await stub_stats(http, port))["accepted"]) < TOTAL, "killed too late to prove anything"

        async def all_settled() -> bool:
            async with fault_core.reading() as session:
                left = (
                    await session.execute(
                        select(func.count()).select_from(Message).where(Message.status.not_in(("sent", "delivered")))
                    )
                ).scalar_one()
            return left == 0

        await wait_until(all_settled, 45, "messages left unsent after the kill: " + processes.log("worker-2"))
        new_leader = await wait_until(leader, 15, "nobody took the scheduler lease over")
        assert new_leader.endswith(f":{second.pid}")
        stats = await stub_stats(http, port)
        assert second.poll() is None
    async with fault_core.reading() as session:
        ids = set((await session.execute(select(Message.id))).scalars())
        retried = (
            await session.execute(select(func.count()).select_from(Message).where(Message.attempts > 1))
        ).scalar_one()
    print(f"{retried} messages claimed again after the kill; settled {time.monotonic() - killed_at:.1f} s after it")
    assert retried > 0, "the kill landed between batches: nothing proved about in-flight messages"
    assert stats["duplicates"] == {}, f"sent twice: {len(stats['duplicates'])} messages"
    logged = log.read_text(encoding="utf-8").split()
    assert len(logged) == TOTAL == len(ids)
    assert len(set(logged)) == TOTAL  # one line per message (its id or its phone, both unique here)


async def test_a_worker_killed_mid_batch_to_a_peer_loses_nothing_after_a_restart(
    peer: FaultPeer, fault_core: Core, fault_settings: Settings, processes: Processes
) -> None:
    sent = await queue_messages(fault_core, peer.channel, peer.addresses(PEER_TOTAL), source="killed")
    env = process_env(
        fault_settings,
        **peer.worker_env(),
        LOYALTY_NOTIFY_LEASE_SECONDS="5",
        LOYALTY_NOTIFY_BATCH_SIZE=str(PEER_BATCH),
    )
    worker = processes.start("worker-1", ["-m", "loyalty.cli", "worker"], env)

    async def in_flight() -> bool:
        """The peer has messages the database does not call sent yet: the worker is between send and
        record (the peer is read first, so a batch recorded meanwhile cannot pass for one in flight)."""
        taken = await peer.taken()
        counts = await statuses(fault_core)
        return taken > PEER_BATCH and taken > counts.get("sent", 0) + counts.get("delivered", 0)

    await wait_until(in_flight, 30, "never caught a batch in flight")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed_at = await peer.taken()
    assert killed_at < PEER_TOTAL, "killed too late to prove anything"
    processes.start("worker-2", ["-m", "loyalty.cli", "worker"], env)
    counts = await wait_until(lambda: settled(fault_core), 30, "messages never settled after the restart")
    received = await peer.received(sent)
    ended = await outcomes(fault_core)
    claimed_again = {mid for mid, (_, attempts, _) in ended.items() if attempts > 1}
    twice = {mid for mid, times in received.items() if times > 1}
    print(f"killed after {killed_at} taken; {len(claimed_again)} claimed again; {len(twice)} received twice")
    assert claimed_again, "the kill landed between batches: nothing proved about in-flight messages"
    assert counts.get("sent", 0) + counts.get("delivered", 0) == PEER_TOTAL, counts
    assert all(received[mid] >= 1 for mid in sent), f"lost: {sorted(mid for mid in sent if not received[mid])}"
    assert max(received.values()) <= 2
    assert twice <= claimed_again, "a message the dead worker never held was sent twice"
    assert len(twice) <= PEER_BATCH, "more than the dead worker's one claimed batch was sent twice"
