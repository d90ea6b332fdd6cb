"""kill -9 the worker in the middle of 10,000 queued messages and start it again: every message
reaches the aggregator exactly once, as the aggregator stub's own log shows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import Message
from tests.e2e.faults.support import queue_messages
from tests.stubs.serving import free_port

ROOT = Path(__file__).resolve().parents[3]
TOTAL = 10_000


def worker_env(settings: Settings, stub_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": "crash-" + "s" * 32,
        "LOYALTY_SMS_PROVIDER": "smsc",
        "LOYALTY_SMS_API_URL": f"http://127.0.0.1:{stub_port}",
        "LOYALTY_SMS_LOGIN": "shop",
        "LOYALTY_SMS_PASSWORD": "secret",
        "LOYALTY_SMS_RATE_PER_SECOND": "1000000",
        "LOYALTY_NOTIFY_LEASE_SECONDS": "5",
        "LOYALTY_NOTIFY_BATCH_SIZE": "200",
        "LOYALTY_LOG_LEVEL": "WARNING",
    }


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def stub_stats(http: httpx.AsyncClient, port: int) -> dict[str, object]:
    return (await http.get(f"http://127.0.0.1:{port}/_stub/stats")).json()  # type: ignore[no-any-return]


async def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_kill_9_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    await queue_messages(core, "sms", [f"+7916{i:07d}" for i in range(TOTAL)], source="crash")
    port = free_port()
    log = tmp_path / "stub.log"
    # the stub answers each batch 0.3 s after taking it: a kill right after it took one lands in that gap
    stub = start(["-m", "tests.stubs.smsc", "--port", str(port), "--log", str(log), "--delay", "0.3"])
    worker = None
    try:
        async with httpx.AsyncClient() as http:
            assert await wait_for(lambda: _up(http, port), 20), "stub did not start"
            worker = start(["-m", "loyalty.cli", "worker"], worker_env(settings, port))

            async def some_sent() -> bool:
                return int((await stub_stats(http, port))["accepted"]) >= 1000  # type: ignore[arg-type]

            assert await wait_for(some_sent, 60), "the worker sent nothing"
            seen = (await stub_stats(http, port))["accepted"]

            async def just_taken() -> bool:
                return (await stub_stats(http, port))["accepted"] != seen

            await wait_for(just_taken, 10)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed_at = int((await stub_stats(http, port))["accepted"])  # type: ignore[arg-type]
            assert killed_at < TOTAL, "killed too late to prove anything"
            worker = start(["-m", "loyalty.cli", "worker"], worker_env(settings, port))

            async def all_settled() -> bool:
                async with core.reading() as session:
                    left = (
                        await session.execute(
                            select(func.count())
                            .select_from(Message)
                            .where(Message.status.not_in(("sent", "delivered")))
                        )
                    ).scalar_one()
                return left == 0

            assert await wait_for(all_settled, 120), "messages left unsent after the restart"
            stats = await stub_stats(http, port)
    finally:
        for process in (worker, stub):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    async with core.reading() as session:
        phones = set((await session.execute(select(Message.address))).scalars())
        retried = (
            await session.execute(select(func.count()).select_from(Message).where(Message.attempts > 1))
        ).scalar_one()
    print(f"killed after {killed_at} accepted; {retried} messages were claimed again after the crash")
    assert retried > 0, "the kill landed between batches: nothing proved about in-flight messages"
    logged = log.read_text(encoding="utf-8").split()
    assert stats["duplicates"] == {}
    assert len(logged) == TOTAL
    assert set(logged) == {p.lstrip("+") for p in phones}  # the stub logs the phone of each message it took


async def _up(http: httpx.AsyncClient, port: int) -> bool:
    try:
        await stub_stats(http, port)
    except httpx.HTTPError:
        return False
    return True
