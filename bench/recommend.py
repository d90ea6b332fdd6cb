"""Recommendations benchmark: N purchase lines (default 10,000,000) generated with SQL in a private
PostgreSQL database (themed baskets of 2-6 lines, a fifth of the receipts anonymous, spread over
200 days), then the real nightly recompute (shared/offers: SKU and category associations, every
member's recommendations) timed. Peak RSS of this process, the PostgreSQL backend's peak RSS
(VmHWM from /proc, when readable) and the database's temporary files (pg_stat_database) beside it.

Targets (issue 19): <= 10 minutes and <= 2 GB. Usage: python bench/recommend.py [--lines 10000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from pydantic import SecretStr
from sqlalchemy import text

from bench.common import PG_ADMIN, write_result
from shared.clock import FixedClock
from shared.config import RecommendSettings, Settings
from shared.core import Core
from shared.db.migrate import upgrade
from shared.offers import recompute_recommendations

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
DB = "loyalty_recommend_bench"
LINES_PER_BASKET = 4  # 2..6, evenly
SKUS_PER_THEME = 10
THEMES = 100  # 1,000 SKUs; a SKU's category is its theme's half: 200 categories
TARGET_SECONDS = 600
TARGET_MB = 2048
MEMBERS = """
INSERT INTO members (id, phone, card_number, language, tier_code, registration_channel, available, pending, debt,
                     wallet_serial, wallet_auth_token, created_at, updated_at)
SELECT md5('m' || i)::uuid, '+7900' || lpad(i::text, 7, '0'), '2' || lpad(i::text, 12, '0'), 'ru', 'standard',
       'import', 0, 0, 0, 'w' || i, md5('t' || i), $1, $1
FROM generate_series(1, $2) AS i
"""
# Each basket: a theme (a member keeps to a few), 2-6 lines, one line in five an impulse SKU from anywhere.
PURCHASES = """
INSERT INTO purchases (id, store_id, receipt_id, member_id, purchased_at, created_at, request_hash, total, discount,
                       redeemed, paid, accrued, refunded_amount, refunded_paid, points_reversed, points_restored,
                       lines, refunded_lines, response)
SELECT md5('p' || b.i)::uuid, 'bench', 'R' || b.i,
       CASE WHEN b.i % 5 = 0 THEN NULL ELSE md5('m' || (1 + b.i % $4))::uuid END,
       $1::timestamptz - make_interval(secs => (b.i * 7919 % (200 * 86400))),
       $1::timestamptz, md5('h' || b.i), 100000, 0, 0, 100000, 5000, 0, 0, 0, 0,
       (SELECT json_agg(json_build_object('sku', 'S' || s.sku, 'name', 'item', 'category', 'c' || (s.sku / 5),
                                          'quantity', 1, 'price', 25000, 'amount', 25000))
        FROM (SELECT CASE WHEN random() < 0.2 THEN floor(random() * $5)::int
                          ELSE b.theme * $6 + floor(random() * $6)::int END AS sku
              FROM generate_series(1, 2 + b.i % 5)) AS s),
       '{}', '{}'
FROM (SELECT i, ((i % $4) * 31 + (i / $4) % 3 * 17) % $7 AS theme
      FROM generate_series($2::bigint, $3::bigint) AS i) AS b
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def seed(lines: int, batch: int) -> tuple[str, dict[str, Any]]:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + DB
    await asyncio.to_thread(upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
    baskets = lines // LINES_PER_BASKET
    members = max(1, baskets // 12)  # about a dozen receipts each over 200 days (a fifth anonymous)
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    await conn.execute("SELECT setseed(0.19)")
    await conn.execute(MEMBERS, NOW, members)
    for first in range(1, baskets + 1, batch):
        last = min(baskets, first + batch - 1)
        await conn.execute(PURCHASES, NOW, first, last, members, THEMES * SKUS_PER_THEME, SKUS_PER_THEME, THEMES)
        print(f"  {last:,} / {baskets:,} receipts", flush=True)
    await conn.execute("ANALYZE")
    made = await conn.fetchval("SELECT sum(json_array_length(lines)) FROM purchases")
    size = await conn.fetchval("SELECT pg_database_size(current_database())")
    await conn.close()
    return url, {
        "members": members,
        "receipts": baskets,
        "lines": int(made),
        "seconds": round(time.perf_counter() - started, 1),
        "database_mb": round(size / 2**20),
    }


async def temp_usage(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    row = await conn.fetchrow("SELECT temp_files, temp_bytes FROM pg_stat_database WHERE datname = $1", DB)
    await conn.close()
    assert row is not None
    return int(row["temp_files"]), int(row["temp_bytes"])


async def run(lines: int, batch: int, min_support: float) -> dict[str, Any]:
    url, seeded = await seed(lines, batch)
    print(
        f"seeded {seeded['lines']:,} lines in {seeded['receipts']:,} receipts of {seeded['members']:,} members "
        f"in {seeded['seconds']} s ({seeded['database_mb']} MB)"
    )
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+asyncpg://"), secret_key=SecretStr("bench-" + "x" * 32)
    )
    recommend = RecommendSettings(min_support=min_support)
    core = Core(settings, FixedClock(NOW))
    files_before, bytes_before = await temp_usage(url)
    await asyncio.sleep(0.6)  # pg_stat_database is flushed at most every 0.5 s (PostgreSQL 15)
    started = time.perf_counter()
    async with core.transaction() as session:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        report = await recompute_recommendations(session, recommend, NOW)
        backend_mb = backend_peak_mb(int(pid))
    elapsed = time.perf_counter() - started
    await core.close()
    await asyncio.sleep(1.0)
    files_after, bytes_after = await temp_usage(url)
    result: dict[str, Any] = {
        "seed": seeded,
        "min_support": min_support,
        "work_mem": "server default",
        "recompute_seconds": round(elapsed, 1),
        "baskets": report.baskets,
        "associations": report.associations,
        "recommendations": report.recommendations,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "postgres_backend_peak_rss_mb": round(backend_mb, 1) if backend_mb is not None else None,
        "temp_files": files_after - files_before,
        "temp_mb": round((bytes_after - bytes_before) / 2**20, 1),
        "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_MB},
    }
    result["met"] = (
        elapsed <= TARGET_SECONDS
        and result["peak_rss_mb"] <= TARGET_MB
        and (backend_mb is None or backend_mb <= TARGET_MB)
    )
    print(
        f"recompute: {elapsed:.1f} s; baskets {report.baskets}; associations {report.associations}; "
        f"recommendations {report.recommendations}; peak RSS {result['peak_rss_mb']} MB (this process), "
        f"{result['postgres_backend_peak_rss_mb']} MB (PostgreSQL backend); temp {result['temp_files']} files, "
        f"{result['temp_mb']} MB; targets {'met' if result['met'] else 'missed'}"
    )
    return result


def markdown(r: dict[str, Any]) -> list[str]:
    s = r["seed"]
    return [
        "## Recommendations recompute (`bench/recommend.py`)",
        "",
        f"{s['lines']:,} purchase lines in {s['receipts']:,} receipts of {s['members']:,} members (themed baskets "
        "of 2-6 lines, a fifth anonymous, over 200 days; generated with SQL) in a private PostgreSQL database; "
        "the nightly recompute (`shared/offers/recommend.py`: SKU and category associations, then every "
        f"member's recommendations) in one transaction, minimum support {r['min_support']}.",
        "",
        f"Baskets in the window: {r['baskets']['sku']:,}. Associations: {r['associations']['sku']:,} SKU pairs, "
        f"{r['associations']['category']:,} category pairs. Recommendations: {r['recommendations']['sku']:,} SKU, "
        f"{r['recommendations']['category']:,} category rows.",
        "",
        f"Recompute **{r['recompute_seconds']} s**; peak RSS {r['peak_rss_mb']} MB (this process), "
        f"{r['postgres_backend_peak_rss_mb']} MB (the PostgreSQL backend, shared buffers it touched included); "
        f"temporary files {r['temp_files']}, {r['temp_mb']} MB. Targets (issue 19): ≤ {r['targets']['seconds']} s "
        f"and ≤ {r['targets']['peak_mb']} MB → **{'met' if r['met'] else 'missed'}**.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=250_000, help="receipts per seeding statement")
    parser.add_argument("--min-support", type=float, default=0.0002)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.lines, args.batch, args.min_support))
    result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    result["markdown"] = markdown(result)
    if not args.no_write:
        write_result("recommend", result)


if __name__ == "__main__":
    main()
