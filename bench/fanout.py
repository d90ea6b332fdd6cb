"""Fan-out benchmark: 100,000 personalised SMS from the messages table through the notifier worker
to the SMSC-style HTTP stub, on its batch endpoint and one request per message, with the worker's
peak RSS at several sizes, beside the stub's raw capacity measured in the same run.

Targets (issue 3): >= 5,000 messages/s per core on the batch path; peak RSS <= 200 MB, flat as
recipients grow. Usage: python bench/fanout.py [--sizes 25000,50000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
from sqlalchemy import insert

from bench.common import PG_ADMIN, ROOT, free_port, write_result
from notifications.planner import message_row
from shared.config import Settings
from shared.core import Core
from shared.db.migrate import upgrade
from shared.db.models.messages import Message

NAMES = ["Анна", "Иван", "Мария", "Пётр", "Елена", "Олег"]


async def fresh_database() -> str:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS loyalty_fanout WITH (FORCE)")
    await admin.execute("CREATE DATABASE loyalty_fanout")
    await admin.close()
    url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/loyalty_fanout"
    await asyncio.to_thread(upgrade, url)
    return url


async def enqueue(core: Core, count: int) -> float:
    """Render and queue `count` personalised messages; returns seconds taken."""
    started = time.perf_counter()
    now = core.clock.now()
    for base in range(0, count, 5000):
        rows = []
        for i in range(base, min(count, base + 5000)):
            context = {
                "language": "ru",
                "name": NAMES[i % 6],
                "points": 10 + i % 290,
                "balance": 100 + i % 5000,
                "pending": i % 300,
                "available_on": "23.11",
            }
            rows.append(
                message_row(
                    source=f"bench:{i}",
                    recipient=f"+7916{i:07d}",
                    member_id=None,
                    kind="points_accrued",
                    channel="sms",
                    address=f"+7916{i:07d}",
                    rest=(),
                    when=now,
                    now=now,
                    context=context,
                )
            )
        async with core.transaction() as session:
            await session.execute(insert(Message), rows)
    return time.perf_counter() - started


async def stats(http: aiohttp.ClientSession, port: int) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{port}/_stub/stats") as answer:
        return await answer.json()  # type: ignore[no-any-return]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_worker(url: str, count: int, mode: str) -> dict[str, Any]:
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.stubs.smsc", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    var_dir = Path(f"/tmp/bench-fanout-{os.getpid()}")
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_VAR_DIR": str(var_dir),
        "LOYALTY_SMS_PROVIDER": "smsc",
        "LOYALTY_SMS_API_URL": f"http://127.0.0.1:{port}",
        "LOYALTY_SMS_LOGIN": "shop",
        "LOYALTY_SMS_PASSWORD": "secret",
        "LOYALTY_SMS_RATE_PER_SECOND": "1000000",
        "LOYALTY_SMS_BATCH_SIZE": "500" if mode == "batch" else "1",
        "LOYALTY_NOTIFY_BATCH_SIZE": "1000",
        "LOYALTY_SMS_MAX_CONNECTIONS": "50",
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_SECRET_KEY": "b" * 40,
    }
    worker = None
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    await stats(http, port)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            worker = subprocess.Popen([sys.executable, "-m", "loyalty.cli", "worker"], cwd=ROOT, env=env)
            first = last = None
            while True:
                accepted = (await stats(http, port))["accepted"]
                moment = time.perf_counter()
                if accepted and first is None:
                    first = (moment, accepted)
                if accepted >= count:
                    last = (moment, accepted)
                    break
                if worker.poll() is not None:
                    raise RuntimeError("worker exited")
                await asyncio.sleep(0.05)
            rss = peak_rss_mb(worker.pid)
            duplicates = (await stats(http, port))["duplicates"]
    finally:
        for process in (worker, stub):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    assert first is not None
    assert last is not None
    rate = (last[1] - first[1]) / (last[0] - first[0])
    return {
        "mode": mode,
        "messages": count,
        "per_second": round(rate),
        "worker_peak_rss_mb": round(rss, 1),
        "duplicates": len(duplicates),
    }


async def stub_capacity(mode: str, total: int) -> dict[str, Any]:
    """The stub alone, hit by a bare client: the ceiling beside our figures."""
    from tests.stubs.smsc import SmscStub

    stub = SmscStub()
    base = await stub.start(free_port())
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as http:
        if mode == "batch":

            async def send(start: int) -> None:
                body = {
                    "login": "shop",
                    "psw": "secret",
                    "list": [
                        {"id": str(i), "phone": f"+7916{i:07d}", "mes": "Начислено 42 балла"}
                        for i in range(start, start + 500)
                    ],
                }
                async with http.post(f"{base}/rest/send_list/", data=json.dumps(body)) as answer:
                    await answer.read()

            for start in range(0, total, 2000):
                await asyncio.gather(*(send(s) for s in range(start, min(total, start + 2000), 500)))
        else:

            async def one(i: int) -> None:
                form = {
                    "login": "shop",
                    "psw": "secret",
                    "phones": f"+7916{i:07d}",
                    "mes": "Начислено 42",
                    "id": str(i),
                }
                async with http.post(f"{base}/sys/send.php", data=form) as answer:
                    await answer.read()

            for start in range(0, total, 200):
                await asyncio.gather(*(one(i) for i in range(start, min(total, start + 200))))
    elapsed = time.perf_counter() - started
    await stub.stop()
    return {"mode": mode, "messages": total, "per_second": round(total / elapsed)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="25000,50000,100000")
    parser.add_argument("--single", type=int, default=30000, help="messages for the one-request-per-message run")
    args = parser.parse_args()
    runs = []
    enqueue_seconds = {}
    for mode, sizes in (("batch", [int(s) for s in args.sizes.split(",")]), ("single", [args.single])):
        for count in sizes:
            url = await fresh_database()
            core = Core(Settings(database_url=url, var_dir=Path("/tmp")))
            enqueue_seconds[f"{mode}-{count}"] = round(await enqueue(core, count), 1)
            await core.close()
            result = await run_worker(url, count, mode)
            print(
                f"  {mode:6} {count:>7,} messages: {result['per_second']:>6,} msg/s, "
                f"worker peak RSS {result['worker_peak_rss_mb']} MB, duplicates {result['duplicates']}"
            )
            runs.append(result)
    raw = [await stub_capacity("batch", 100_000), await stub_capacity("single", 20_000)]
    for r in raw:
        print(f"  stub alone, {r['mode']}: {r['per_second']:,} msg/s")
    batch = [r for r in runs if r["mode"] == "batch"]
    biggest = max(batch, key=lambda r: r["messages"])
    write_result(
        "fanout",
        {
            "runs": runs,
            "stub_alone": raw,
            "enqueue_seconds": enqueue_seconds,
            "targets": {
                "per_second_min": 5000,
                "peak_rss_mb_max": 200,
                "per_second": biggest["per_second"],
                "peak_rss_mb": max(r["worker_peak_rss_mb"] for r in batch),
                "met": biggest["per_second"] >= 5000 and all(r["worker_peak_rss_mb"] <= 200 for r in batch),
            },
        },
    )
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS loyalty_fanout WITH (FORCE)")
    await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
