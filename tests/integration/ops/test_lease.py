"""The scheduler's leader is the holder of a lease row with an expiry (no session advisory lock, so
it works through PgBouncer in transaction mode); workers claim messages without sending one twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from notifications.liveness import lease_holder
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models.workers import SchedulerLease
from shared.events import EventKind, emit
from tests.integration.notifications.test_flow import channels, member, messages

pytestmark = pytest.mark.pgbouncer


def worker(core: Core, name: str, **chans: Any) -> Worker:
    made = Worker(core, dict(chans))
    made.identity = name  # two workers in one test process: give each its own identity
    return made


async def test_two_workers_one_leader_and_the_lease_passes_on_expiry(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    other = Core(settings, clock)
    a, b = worker(core, "host-a:1"), worker(other, "host-b:2")
    try:
        assert await a.keep_lease() is True
        assert a.scheduler is not None
        assert await b.keep_lease() is False
        assert b.scheduler is None
        assert (await lease_holder(core))[0] == "host-a:1"

        clock.advance(seconds=10)
        assert await a.keep_lease() is True  # renewed: now expires 30 s from here
        clock.advance(seconds=25)
        assert await b.keep_lease() is False  # would have expired without the renewal
        clock.advance(seconds=6)  # a stopped renewing (hung, partitioned): its lease runs out
        assert await b.keep_lease() is True
        assert b.scheduler is not None
        assert await a.keep_lease() is False
        assert a.scheduler is None  # the old leader stops scheduling
        assert (await lease_holder(core))[0] == "host-b:2"

        await b.step_down()  # a clean stop frees the lease at once
        assert await lease_holder(core) is None
        assert await a.keep_lease() is True
    finally:
        await a.step_down()
        await b.step_down()
        await other.close()


async def test_the_lease_is_a_row_and_no_session_lock_is_held(core: Core) -> None:
    a = worker(core, "host-a:1")
    try:
        assert await a.keep_lease() is True
        async with core.reading() as session:
            row = (await session.execute(select(SchedulerLease))).scalar_one()
            assert row.holder == "host-a:1"
            assert (row.expires_at - core.clock.now()).total_seconds() == core.settings.notify.leader_lease_seconds
            if session.bind.dialect.name == "postgresql":
                held = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())"  # other tests' servers
                        )
                    )
                ).scalar_one()
                assert held == 0
    finally:
        await a.step_down()


async def test_running_workers_elect_one_leader_and_hand_over_when_it_stops(settings: Settings, core: Core) -> None:
    fast = settings.model_copy(
        update={
            "notify": settings.notify.model_copy(
                update={"leader_renew_seconds": 0.05, "heartbeat_seconds": 0.05, "poll_seconds": 0.05}
            )
        }
    )
    first, second = Core(fast, core.clock), Core(fast, core.clock)
    a, b = worker(first, "host-a:1"), worker(second, "host-b:2")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    runs = [asyncio.create_task(a.run(stop_a)), asyncio.create_task(b.run(stop_b))]
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if a.scheduler is not None or b.scheduler is not None:
                break
        await asyncio.sleep(0.2)  # several renewal rounds: still exactly one leader
        assert (a.scheduler is None) != (b.scheduler is None)
        leader, stop, follower = (a, stop_a, b) if a.scheduler is not None else (b, stop_b, a)
        stop.set()
        await asyncio.wait_for(runs[0 if leader is a else 1], 10)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if follower.scheduler is not None:
                break
        assert follower.scheduler is not None
        assert (await lease_holder(core))[0] == follower.identity
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.gather(*runs, return_exceptions=True)
        await first.close()
        await second.close()


async def test_two_workers_claiming_at_once_send_each_message_once(core: Core, settings: Settings) -> None:
    for i in range(30):
        found = await member(core, phone=f"+7912345{i:04d}")
        async with core.transaction() as session:
            await emit(session, EventKind.POINTS_ACCRUED, found.id, {"points": 5}, core.clock.now())
    other = Core(settings, core.clock)
    first, second = channels(), channels()
    a, b = worker(core, "host-a:1", **first), worker(other, "host-b:2", **second)
    try:
        for _ in range(6):
            await asyncio.gather(a.run_once(), b.run_once())
    finally:
        await other.close()
    sent = [m.id for chans in (first, second) for c in chans.values() for m in c.sent]
    assert len(sent) == len(set(sent))
    rows = await messages(core)
    assert rows
    assert all(m.status == "delivered" for m in rows)
    assert len(sent) == len(rows)
