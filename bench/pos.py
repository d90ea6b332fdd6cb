"""POS benchmark: sustained confirms/s and latency over HTTP with 100,000 members, on PostgreSQL
and SQLite, beside pgbench's TPC-B-like tps on the same PostgreSQL in the same run.

Targets (issue 2): >= 500 confirms/s on PostgreSQL; p99 <= 50 ms at 250 confirms/s.
Usage: python bench/pos.py [--members 100000] [--seconds 20] [--backends postgres,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg

from bench.common import PG_ADMIN, free_port, percentile, start_server, write_result
from shared.apikeys import create_api_key
from shared.config import Settings
from shared.core import Core
from shared.db.migrate import upgrade
from shared.importer import import_members

PHONE_BASE = 79990000000
LINES = [
    {"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1, "price": 45000, "amount": 45000},
    {"sku": "4607003", "name": "Wine", "category": "wine", "quantity": 2, "price": 89000, "amount": 178000},
]


async def prepare(url: str, var_dir: Path, members: int) -> str:
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, var_dir=var_dir)
    core = Core(settings)
    csv_text = io.StringIO("phone,balance\n" + "".join(f"+{PHONE_BASE - i},500\n" for i in range(members)))
    started = time.perf_counter()
    report = await import_members(core, core.clock, core.rules, csv_text, var_dir / "rejected.csv")
    print(f"  imported {report.imported} members in {time.perf_counter() - started:.1f}s")
    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "bench")
    await core.close()
    return key


def receipt(run: str, n: int, members: int, redeem: bool) -> dict[str, Any]:
    phone = f"+{PHONE_BASE - random.randrange(members)}"
    return {
        "store_id": "bench-1",
        "receipt_id": f"{run}-{n}",
        "member": {"phone": phone},
        "lines": LINES,
        "redeem": 20 if redeem else 0,
    }


async def closed_loop(base: str, key: str, members: int, seconds: float, concurrency: int, run: str) -> dict[str, Any]:
    """As many confirms as the server takes: `concurrency` tills sending back to back."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def till() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                n = next(counter)
                started = time.perf_counter()
                async with http.post(f"{base}/api/v1/purchases", json=receipt(run, n, members, n % 4 == 0)) as r:
                    await r.read()
                    if r.status != 201:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(till() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, errors, elapsed)


async def open_loop(base: str, key: str, members: int, seconds: float, rate: float, run: str) -> dict[str, Any]:
    """A fixed arrival rate (like many tills), measuring latency without coordinated omission."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=200)) as http:

        async def one(n: int, due: float) -> None:
            nonlocal errors
            async with http.post(f"{base}/api/v1/purchases", json=receipt(run, n, members, n % 4 == 0)) as r:
                await r.read()
                if r.status != 201:
                    errors += 1
            latencies.append(time.perf_counter() - due)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return summary(latencies, errors, elapsed)


def summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p95_ms": round(percentile(ordered, 95) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
    }


def pgbench(seconds: int) -> dict[str, Any]:
    """TPC-B-like tps of the same PostgreSQL server: the physical limit beside our confirms/s."""
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
    subprocess.run(
        ["psql", "-q", "-d", "test", "-c", "DROP DATABASE IF EXISTS loyalty_pgbench"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["psql", "-q", "-d", "test", "-c", "CREATE DATABASE loyalty_pgbench"], env=env, check=True, capture_output=True
    )
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", "loyalty_pgbench"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-c", "8", "-j", "2", "-T", str(seconds), "loyalty_pgbench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subprocess.run(["psql", "-q", "-d", "test", "-c", "DROP DATABASE loyalty_pgbench"], env=env, capture_output=True)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"tps": round(tps, 1), "clients": 8, "scale": 10, "seconds": seconds}


async def bench_backend(backend: str, members: int, seconds: float, workers: int) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-pos-{backend}-"))
    if backend == "postgres":
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute("DROP DATABASE IF EXISTS loyalty_bench WITH (FORCE)")
        await admin.execute("CREATE DATABASE loyalty_bench")
        await admin.close()
        url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/loyalty_bench"
    else:
        url = f"sqlite+aiosqlite:///{var_dir / 'bench.db'}"
        workers = 1  # one writer at a time anyway
    print(f"{backend}: preparing {members} members")
    key = await prepare(url, var_dir, members)
    port = free_port()
    server = start_server(
        {
            "LOYALTY_DATABASE_URL": url,
            "LOYALTY_VAR_DIR": str(var_dir),
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_DB_POOL_SIZE": "10",
        },
        port,
        workers,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await closed_loop(base, key, members, 3, 16, "warm")
        sustained = await closed_loop(base, key, members, seconds, 32, "max")
        print(f"  sustained: {sustained}")
        at_250 = await open_loop(base, key, members, seconds, 250, "r250")
        print(f"  at 250/s: {at_250}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    if backend == "postgres":
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute("DROP DATABASE IF EXISTS loyalty_bench WITH (FORCE)")
        await admin.close()
    return {
        "backend": backend,
        "members": members,
        "web_workers": workers,
        "sustained": sustained,
        "at_250_per_second": at_250,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="postgres,sqlite")
    args = parser.parse_args()
    results = [await bench_backend(b, args.members, args.seconds, args.workers) for b in args.backends.split(",")]
    reference = await asyncio.to_thread(pgbench, int(args.seconds))
    print(f"pgbench TPC-B-like: {reference}")
    pg = next((r for r in results if r["backend"] == "postgres"), None)
    targets = None
    if pg:
        targets = {
            "confirms_per_second_min": 500,
            "p99_ms_at_250_max": 50,
            "confirms_per_second": pg["sustained"]["per_second"],
            "p99_ms_at_250": pg["at_250_per_second"]["p99_ms"],
            "met": pg["sustained"]["per_second"] >= 500 and pg["at_250_per_second"]["p99_ms"] <= 50,
        }
    write_result("pos", {"results": results, "pgbench": reference, "targets": targets})


if __name__ == "__main__":
    asyncio.run(main())
