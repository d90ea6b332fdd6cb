"""The database goes away under load and comes back: `pg_ctlcluster restart`, and kill -9 of the postmaster
(then a start, as systemd would). Tills keep confirming receipts against a real `loyalty serve`; a real
`loyalty worker` keeps sending SMS to an aggregator stub over a socket.

While the database is gone the web answers 503 with Retry-After (the API and /readyz), never a 500;
afterwards it recovers by itself, same process. Nothing is lost: every receipt a till got 200/201 for is
in the ledger exactly once, including those a till retried with the same receipt id after a 503. Nothing
is sent twice: every message reaches the stub at most once, and all of them eventually; the worker's
heartbeat resumes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.core import Entry, Purchase
from shared.db.models.messages import Message
from shared.db.models.workers import WorkerHeartbeat
from tests.e2e.faults.conftest import (
    Cluster,
    Processes,
    new_api_key,
    process_env,
    sms_env,
    stub_stats,
    wait_until,
)
from tests.stubs.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
TILLS = 4
MEMBERS = 8


@dataclass
class Tally:
    confirmed: dict[str, int] = field(default_factory=dict)  # receipt id -> 200/201
    retried: set[str] = field(default_factory=set)  # receipts retried after a 503
    unavailable: list[str | None] = field(default_factory=list)  # Retry-After of each 503
    transport: list[str] = field(default_factory=list)  # no answer at all
    wrong: list[str] = field(default_factory=list)  # any other answer
    confirmed_at: list[float] = field(default_factory=list)


def phone(n: int) -> str:
    return f"+7916555{n:04d}"


async def till(http: httpx.AsyncClient, number: int, stop: asyncio.Event, tally: Tally) -> None:
    """A cash register: confirms receipts one after another, retrying the same receipt after a 503."""
    sequence = 0
    while not stop.is_set():
        receipt = f"T{number}-{sequence:05d}"
        # a price of its own per receipt: its SMS text (points earned) differs from every other's
        price = 20000 + 2000 * (number + TILLS * sequence)
        line = {"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1, "price": price, "amount": price}
        body = {
            "store_id": "msk-001",
            "receipt_id": receipt,
            "member": {"phone": phone((number + sequence) % MEMBERS)},
            "lines": [line],
            "redeem": 0,
        }
        for _ in range(600):
            try:
                answer = await http.post("/api/v1/purchases", json=body)
            except httpx.HTTPError as exc:  # the till cannot tell either: it retries the same receipt
                tally.transport.append(f"{receipt}: {exc!r}")
                await asyncio.sleep(0.2)
                continue
            if answer.status_code == 503:
                tally.unavailable.append(answer.headers.get("Retry-After"))
                tally.retried.add(receipt)
                await asyncio.sleep(0.2)  # a real till honours Retry-After; the test keeps it short
                continue
            if answer.status_code in (200, 201):
                tally.confirmed[receipt] = answer.status_code
                tally.confirmed_at.append(time.monotonic())
            else:
                tally.wrong.append(f"{receipt}: {answer.status_code} {answer.text[:300]}")
            break
        sequence += 1


async def watch_readyz(http: httpx.AsyncClient, stop: asyncio.Event, seen: list[tuple[int, str | None, Any]]) -> None:
    while not stop.is_set():
        try:
            answer = await http.get("/readyz")
            seen.append((answer.status_code, answer.headers.get("Retry-After"), answer.json().get("failed")))
        except (httpx.HTTPError, ValueError) as exc:
            seen.append((0, None, repr(exc)))
        await asyncio.sleep(0.1)


async def settled(core: Core) -> bool:
    """Every event handled and every message due so far sent."""
    held_after = core.clock.now() + timedelta(minutes=5)
    async with core.reading() as session:
        events = (
            await session.execute(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.processed_at.is_(None))
            )
        ).scalar_one()
        open_messages = (
            await session.execute(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.status.not_in(("sent", "delivered")),
                    # held for the member's quiet hours (a tier change at night goes out in the morning)
                    ~((Message.status == "queued") & (Message.next_attempt_at > held_after)),
                )
            )
        ).scalar_one()
    return events == 0 and open_messages == 0


@pytest.mark.parametrize("fault", ["restart", "kill-9"])
async def test_database_outage_under_load_loses_nothing_and_sends_nothing_twice(
    fault: str,
    cluster: Cluster,
    fault_core: Core,
    fault_settings: Settings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    key = await new_api_key(fault_core)
    stub_port, web_port = free_port(), free_port()
    stub_log = tmp_path / "sent.log"
    processes.start("stub", ["-m", "tests.stubs.smsc", "--port", str(stub_port), "--log", str(stub_log)])
    web = processes.start("web", ["-m", "loyalty.cli", "serve", "--port", str(web_port)], process_env(fault_settings))
    worker_env = process_env(
        fault_settings,
        **sms_env(stub_port),
        LOYALTY_NOTIFY_LEASE_SECONDS="5",
        LOYALTY_NOTIFY_RETRY_BASE_SECONDS="1",
        LOYALTY_NOTIFY_MAX_ATTEMPTS="50",
        LOYALTY_NOTIFY_HEARTBEAT_SECONDS="0.5",
    )
    processes.start("worker", ["-m", "loyalty.cli", "worker"], worker_env)
    tally = Tally()
    stop, watching = asyncio.Event(), asyncio.Event()
    readyz: list[tuple[int, str | None, Any]] = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{web_port}", headers={"Authorization": f"Bearer {key}"}, timeout=15
    ) as http:
        await wait_until(
            lambda: _status(http, "/readyz", 200), 60, "web or worker never ready: " + processes.log("web")
        )
        for n in range(MEMBERS):
            answer = await http.post("/api/v1/members", json={"phone": phone(n), "consents": {"sms": True}})
            assert answer.status_code == 201, answer.text
        tills = [asyncio.create_task(till(http, n, stop, tally)) for n in range(TILLS)]
        watcher = asyncio.create_task(watch_readyz(http, watching, readyz))
        try:
            await wait_until(lambda: _count(tally, 3 * TILLS), 30, "the tills confirmed nothing before the fault")
            await wait_until(
                lambda: _accepted(http, stub_port, 1), 30, "the worker sent nothing: " + processes.log("worker")
            )
            before = len(tally.confirmed)
            if fault == "restart":
                await asyncio.to_thread(cluster.restart)
            else:
                await asyncio.to_thread(cluster.kill_postmaster)
                await asyncio.sleep(2)  # down for a while: tills and the worker keep trying
                await asyncio.to_thread(cluster.start)
            back = time.monotonic()
            heartbeat_floor = fault_core.clock.now()
            await wait_until(
                lambda: _count(tally, before + 3 * TILLS, since=back),
                30,
                f"no recovery after the {fault}: {tally.wrong[-3:]} {processes.log('web')}",
            )
            first_after = min(t for t in tally.confirmed_at if t >= back)
        finally:
            stop.set()
            await asyncio.gather(*tills)
            watching.set()
            await watcher
        assert web.poll() is None, "the web process died"
        assert tally.wrong == [], tally.wrong[:5]
        assert tally.transport == [], tally.transport[:5]
        assert tally.unavailable, f"no till saw the {fault}: nothing proved"
        assert all(value is not None and int(value) >= 1 for value in tally.unavailable), set(tally.unavailable)
        assert first_after - back < 10, "the web took too long to recover"
        down = [r for r in readyz if r[0] != 200]
        assert all(status == 503 for status, _, _ in down), down[:5]
        if fault == "kill-9":  # down for seconds: /readyz must have said so, naming the database
            assert any(failed and "database" in failed and after for _, after, failed in down), down[:5]

        await wait_until(lambda: settled(fault_core), 60, "messages left unsent: " + processes.log("worker"))
        stats = await stub_stats(http, stub_port)

        async def beat_after() -> bool:
            async with fault_core.reading() as session:
                seen = (await session.execute(select(func.max(WorkerHeartbeat.last_seen)))).scalar_one()
            return seen is not None and seen > heartbeat_floor

        await wait_until(beat_after, 15, "the worker's heartbeat did not resume")
        await wait_until(lambda: _status(http, "/readyz", 200), 15, "not ready after the outage")

    async with fault_core.reading() as session:
        purchases: dict[str, Any] = dict((await session.execute(select(Purchase.receipt_id, Purchase.id))).all())
        accruals = (
            await session.execute(
                select(Entry.purchase_id, func.count())
                .where(Entry.purchase_id.is_not(None), Entry.kind == "accrual")
                .group_by(Entry.purchase_id)
            )
        ).all()
        sent = Message.status.in_(("sent", "delivered"))  # not those held for quiet hours
        sms = set((await session.execute(select(Message.id).where(Message.channel == "sms", sent))).scalars())
        accrued_messages = (
            await session.execute(select(func.count()).select_from(Message).where(Message.kind == "points_accrued"))
        ).scalar_one()
    print(
        f"{fault}: {len(tally.confirmed)} receipts confirmed, {len(tally.unavailable)} answers 503, "
        f"{len(tally.retried)} receipts retried, {len(sms)} SMS sent"
    )
    assert set(purchases) == set(tally.confirmed), "a confirmed receipt is missing, or an unconfirmed one is there"
    per_purchase = dict(accruals)
    assert set(per_purchase) == set(purchases.values())
    assert set(per_purchase.values()) == {1}, "a receipt accrued twice"
    assert accrued_messages == len(purchases)
    logged = stub_log.read_text(encoding="utf-8").split()
    assert stats["duplicates"] == {}, f"sent twice: {stats['duplicates']}"
    assert stats["accepted"] == len(logged) == len(sms), "a message was lost, or one went out twice"


async def _status(http: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await http.get(path)).status_code == status


async def _count(tally: Tally, at_least: int, since: float | None = None) -> bool:
    if since is not None and not any(t >= since for t in tally.confirmed_at):
        return False
    return len(tally.confirmed) >= at_least


async def _accepted(http: httpx.AsyncClient, port: int, at_least: int) -> bool:
    return int((await stub_stats(http, port))["accepted"]) >= at_least
