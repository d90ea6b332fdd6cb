"""Promotions at till speed: confirms/s over HTTP on PostgreSQL without promotions and with 200
active promotions + 10,000 promo codes, in the same run (the machine is shared, so only figures
from one run make a ratio), beside pgbench. Rounds alternate plain / promotions / plain / ...

Target (promotions issue): with promotions, at most 20% fewer confirms/s than without.
Usage: python bench/promotions.py [--members 50000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
from sqlalchemy import update

from bench.common import PG_ADMIN, free_port, latency_summary, start_server, write_result
from bench.pos import LINES, PHONE_BASE, pgbench, prepare
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member, Segment, SegmentMember
from shared.db.models.promotions import Promotion
from shared.promotions import codes, definitions

PROMOTIONS, CODES = 200, 10_000


def promotion_bodies(now: datetime) -> list[dict[str, Any]]:
    """A realistic mix: most promotions are about other goods, stores or audiences; a few hit the receipt."""
    week = {"starts_at": (now - timedelta(days=1)).isoformat(), "ends_at": (now + timedelta(days=7)).isoformat()}
    bodies: list[dict[str, Any]] = []
    for n in range(PROMOTIONS - 6):
        shape = n % 5
        if shape == 0:
            bodies.append(
                {
                    "name": f"cat-{n} −{5 + n % 20}%",
                    "kind": "discount",
                    "percent": 5 + n % 20,
                    "categories": [f"cat-{n}"],
                    **week,
                }
            )
        elif shape == 1:
            bodies.append(
                {
                    "name": f"sku list {n}",
                    "kind": "accrual",
                    "extra_percent": 3,
                    "skus": [f"sku-{n}-{k}" for k in range(20)],
                    **week,
                }
            )
        elif shape == 2:
            bodies.append(
                {
                    "name": f"bundle {n}",
                    "kind": "bundle",
                    "percent": 30,
                    "categories": [f"cat-{n}"],
                    "with_categories": [f"cat-{n + 1}"],
                }
            )
        elif shape == 3:
            bodies.append({"name": f"store {n}", "kind": "discount", "percent": 10, "store_ids": [f"store-{n}"]})
        else:
            bodies.append(
                {"name": f"segment {n}", "kind": "discount", "percent": 7, "categories": ["wine"], "segment_ids": [1]}
            )
    bodies += [
        {
            "name": "Wine ×2 for Standard",
            "kind": "accrual",
            "multiplier": 2,
            "categories": ["wine"],
            "tier_codes": ["standard"],
            **week,
        },
        {"name": "Food −5%", "kind": "discount", "percent": 5, "categories": ["food"], "priority": 5},
        {"name": "+50 over 2,000 ₽", "kind": "accrual", "points": 50, "min_total": 200000},
        {
            "name": "Wine closed −10%",
            "kind": "discount",
            "percent": 10,
            "categories": ["wine"],
            "combinable": False,
            "priority": -1,
        },
        {
            "name": "Bundle food+wine",
            "kind": "bundle",
            "percent": 15,
            "categories": ["food"],
            "with_categories": ["wine"],
        },
        {"name": "Code −300 ₽", "kind": "discount", "amount": 30000, "code_only": True},
    ]
    return bodies


async def add_promotions(url: str, var_dir: Path) -> list[str]:
    core = Core(Settings(database_url=url, var_dir=var_dir))
    now = core.clock.now()
    async with core.transaction() as session:
        session.add(Segment(id=1, name="bench", definition={}, member_count=0, created_at=now, updated_at=now))
        await session.flush()
        ids = (await session.execute(Member.__table__.select().with_only_columns(Member.id).limit(5000))).scalars()
        session.add_all([SegmentMember(segment_id=1, member_id=i) for i in ids])
        made = [await definitions.create_promotion(session, core.rules, b, now) for b in promotion_bodies(now)]
        batch = await codes.create_batch(session, made[-1].id, {"kind": "unique", "count": CODES}, now)
        found = [c for c, _, _ in await codes.batch_codes(session, batch.id)]
    await core.close()
    return found


async def set_promotions(url: str, var_dir: Path, *, active: bool) -> None:
    core = Core(Settings(database_url=url, var_dir=var_dir))
    async with core.transaction() as session:
        await session.execute(update(Promotion).values(active=active, version=Promotion.version + 1))
    await core.close()


async def closed_loop(
    base: str, key: str, members: int, seconds: float, concurrency: int, run: str, promo_codes: list[str]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {key}"}, connector=aiohttp.TCPConnector(limit=concurrency)
    ) as http:

        async def till() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                n = next(counter)
                body: dict[str, Any] = {
                    "store_id": "bench-1",
                    "receipt_id": f"{run}-{n}",
                    "member": {"phone": f"+{PHONE_BASE - random.randrange(members)}"},
                    "lines": LINES,
                    "redeem": 20 if n % 4 == 0 else 0,
                }
                if promo_codes and n % 10 == 0:
                    body["promo_code"] = promo_codes.pop()
                started = time.perf_counter()
                async with http.post(f"{base}/api/v1/purchases", json=body) as r:
                    await r.read()
                    errors += r.status != 201
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(till() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {**latency_summary(latencies, elapsed), "errors": errors}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-promotions-"))
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS loyalty_bench_promo WITH (FORCE)")
    await admin.execute("CREATE DATABASE loyalty_bench_promo")
    await admin.close()
    url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/loyalty_bench_promo"
    key = await prepare(url, var_dir, args.members)
    port = free_port()
    server = start_server(
        {
            "LOYALTY_DATABASE_URL": url,
            "LOYALTY_VAR_DIR": str(var_dir),
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_DB_POOL_SIZE": "10",
        },
        port,
        args.workers,
    )
    base = f"http://127.0.0.1:{port}"
    rounds: dict[str, Any] = {"plain": [], "promotions": []}
    try:
        await closed_loop(base, key, args.members, 3, 16, "warm", [])
        promo_codes = await add_promotions(url, var_dir)
        for n in range(args.rounds):  # plain, promotions, plain, ...: drift of a shared machine hits both
            with_promotions = n % 2 == 1
            await set_promotions(url, var_dir, active=with_promotions)
            await asyncio.sleep(1.5)  # the web processes notice within FRESHNESS_SECONDS
            await closed_loop(base, key, args.members, 2, 16, f"warm{n}", [])
            result = await closed_loop(
                base, key, args.members, args.seconds, 32, f"r{n}", promo_codes if with_promotions else []
            )
            rounds["promotions" if with_promotions else "plain"].append(result)
            print(f"  round {n} {'with' if with_promotions else 'without'} promotions: {result}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS loyalty_bench_promo WITH (FORCE)")
    await admin.close()
    reference = await asyncio.to_thread(pgbench, int(args.seconds))
    print(f"pgbench TPC-B-like: {reference}")
    plain = sum(r["per_second"] for r in rounds["plain"]) / len(rounds["plain"])
    promoted = sum(r["per_second"] for r in rounds["promotions"]) / len(rounds["promotions"])
    ratio = promoted / plain
    write_result(
        "promotions",
        {
            "members": args.members,
            "web_workers": args.workers,
            "promotions": PROMOTIONS,
            "promo_codes": CODES,
            "rounds": rounds,
            "pgbench": reference,
            "mean_per_second": {"plain": round(plain, 1), "promotions": round(promoted, 1)},
            "target": {"max_loss_percent": 20, "loss_percent": round((1 - ratio) * 100, 1), "met": ratio >= 0.8},
            "at_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
