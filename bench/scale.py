"""Scale benchmark: one PostgreSQL database with 10,000,000 members and a year of purchases.

In one run, on a private database (created here, dropped at the end unless --keep):
1. the 1,000,000-member CSV import through `loyalty import`'s function (COPY path), timed;
2. a fill by SQL (generate_series, not the HTTP API) up to --members members, each with a welcome
   lot and ledger line, and --purchases purchases spread over the past year (with their lots and entries);
3. database size: pg_database_size and the largest tables and indexes;
4. POS confirms at a fixed 250/s over HTTP (p50/p99), the same at 100,000 members in a second database
   built the same way in the same run;
5. the segment builder's live count and a 1,000,000-message campaign selection at that size.

Target (issue 16): the 1M import in <= 60 s. Usage: python bench/scale.py [--members 10000000]
Quick mode for iterating: python bench/scale.py --members 200000 --purchases 200000 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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

IMPORT_PHONE = 79160000000  # the imported members: +7916...; the SQL-filled ones: +7900... and +7901...
LINES = [
    {"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1, "price": 45000, "amount": 45000},
    {"sku": "4607003", "name": "Wine", "category": "wine", "quantity": 2, "price": 89000, "amount": 178000},
]
# Members past the imported ones, by SQL: phones +79nnnnnnnnn (900, 901 ... mobile codes) up to 99,999,999 members.
FILL_MEMBERS = """
INSERT INTO members (id, phone, card_number, first_name, birth_date, birth_mmdd, language, tier_code,
                     registration_channel, available, pending, debt, wallet_serial, wallet_auth_token,
                     telegram_user_id, last_purchase_at, created_at, updated_at)
SELECT md5('m' || i)::uuid, '+79' || lpad(i::text, 9, '0'), '3' || lpad(i::text, 12, '0'),
       (ARRAY['Анна','Иван','Мария','Пётр','Елена','Олег'])[1 + i % 6],
       date '1960-01-01' + (i % 15000),
       extract(month FROM date '1960-01-01' + (i % 15000))::int * 100
       + extract(day FROM date '1960-01-01' + (i % 15000))::int,
       CASE WHEN i % 10 = 0 THEN 'en' ELSE 'ru' END,
       (ARRAY['standard','standard','standard','gold','platinum'])[1 + i % 5], 'pos', 100, 0, 0, 'w' || i,
       md5('t' || i), CASE WHEN i % 3 = 0 THEN 100000000 + i END, NULL, $1::timestamptz - (i % 365) * interval '1 day',
       $1::timestamptz - (i % 365) * interval '1 day'
FROM generate_series($2::int, $3::int) AS i
"""
FILL_CONSENTS = """
INSERT INTO consents (member_id, channel, granted, changed_at, source, method)
SELECT md5('m' || i)::uuid, 'sms', true, $1::timestamptz, 'bench', 'import'
FROM generate_series($2::int, $3::int) AS i
WHERE i % 7 <> 0
UNION ALL
SELECT md5('m' || i)::uuid, 'telegram', true, $1::timestamptz, 'bench', 'import'
FROM generate_series($2::int, $3::int) AS i
WHERE i % 3 = 0
"""
FILL_WELCOME = """
WITH lot AS (
    INSERT INTO lots (member_id, source, points, remaining, status, created_at, available_at, expires_at)
    SELECT md5('m' || i)::uuid, 'welcome', 100, 100, 'available', $1::timestamptz, $1::timestamptz,
           $1::timestamptz + interval '180 days'
    FROM generate_series($2::int, $3::int) AS i
    RETURNING id, member_id
)
INSERT INTO entries (member_id, kind, points, created_at, available_at, expires_at, lot_id, comment)
SELECT member_id, 'welcome', 100, $1::timestamptz, $1::timestamptz, $1::timestamptz + interval '180 days', id, NULL
FROM lot
"""
# A year of purchases: purchase n belongs to member (n * 7919) % members + 1 (spread, not sequential).
FILL_PURCHASES = """
INSERT INTO purchases (id, store_id, receipt_id, member_id, purchased_at, created_at, request_hash, total,
                       discount, redeemed, paid, accrued, accrual_lot_id, redeemed_expires_at, refunded_amount,
                       refunded_paid, points_reversed, points_restored, lines, refunded_lines, response)
SELECT md5('p' || n)::uuid, 'store-' || (n % 50), 'r' || n, md5('m' || ((n::bigint * 7919) % $4 + 1))::uuid,
       $1::timestamptz - (n % 525600) * interval '1 minute', $1::timestamptz - (n % 525600) * interval '1 minute',
       md5('h' || n),
       223000, 0, 0, 223000, 111, NULL, NULL, 0, 0, 0, 0, $5::json, '{}'::json, '{}'::json
FROM generate_series($2::int, $3::int) AS n
"""
FILL_ACCRUALS = """
WITH lot AS (
    INSERT INTO lots (member_id, source, points, remaining, status, created_at, available_at, expires_at,
                      purchase_id)
    SELECT member_id, 'purchase', accrued, accrued,
           CASE WHEN purchased_at < $1::timestamptz - interval '180 days' THEN 'expired' ELSE 'available' END,
           purchased_at, purchased_at + interval '1 day', purchased_at + interval '181 days', id
    FROM purchases WHERE store_id LIKE 'store-%' AND created_at >= $2 AND created_at < $3
    RETURNING id, member_id, points, created_at, available_at, expires_at, purchase_id
)
INSERT INTO entries (member_id, kind, points, created_at, available_at, expires_at, purchase_id, lot_id)
SELECT member_id, 'accrual', points, created_at, available_at, expires_at, purchase_id, id FROM lot
"""
STEP = 500_000  # rows per fill statement (each its own commit)
SIZES = """
SELECT c.relname AS name, CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END AS kind,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 12
"""


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def app_url(name: str) -> str:
    return pg_url(name).replace("postgresql://", "postgresql+asyncpg://")


async def create_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, app_url(name))


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def import_csv(path: Path, rows: int) -> None:
    """A CSV as an old card base would give it: 8-prefixed phones, names, birthdays, balances, consents."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone,first_name,last_name,email,birth_date,balance,consent_sms,consent_email\n")
        for i in range(rows):
            birth = f"19{50 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            out.write(
                f"8{str(IMPORT_PHONE + i)[1:]},Имя{i % 1000},Фамилия,u{i}@example.com,{birth},{i % 700},"
                f"{'yes' if i % 3 else 'no'},{i % 2}\n"
            )


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (the database backends that served the import)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def timed_import(name: str, rows: int, var_dir: Path, *, copy: bool = True) -> dict[str, Any]:
    """The CSV import, timed; beside the wall time, the CPU seconds of this process and of the database
    backends, which say what it takes on an idle machine (the two cores here are shared)."""
    source = var_dir / "import.csv"
    import_csv(source, rows)
    async with Core(Settings(database_url=app_url(name), var_dir=var_dir)) as core:
        rules = await core.current_rules()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with source.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
            report = await import_members(core, core.clock, rules, text, var_dir / "import.rejected.csv", copy=copy)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        conn = await asyncpg.connect(pg_url(name))
        try:
            pids = [
                r["pid"]
                for r in await conn.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        finally:
            await conn.close()
        backends = cpu_seconds(pids)
    source.unlink()
    python = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result = {
        "path": "copy" if copy else "orm",
        "rows": report.rows,
        "imported": report.imported,
        "rejected": report.rejected,
        "points": report.points,
        "seconds": round(elapsed, 1),
        "rows_per_second": round(report.rows / elapsed),
        "python_cpu_seconds": round(python, 1),
        "postgres_cpu_seconds": round(backends, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(f"  import of {rows:,} CSV rows: {result}", flush=True)
    return result


async def fill_members(
    name: str, members: int, now: datetime, timings: dict[str, float], checkpoint: Callable[[], None]
) -> None:
    """Members past the imported ones, with consents, by SQL in steps of STEP (each its own commit)."""
    conn = await asyncpg.connect(pg_url(name))
    try:
        todo = max(0, members - await conn.fetchval("SELECT count(*) FROM members"))
        for label, sql in (("members", FILL_MEMBERS), ("consents", FILL_CONSENTS)):
            started = time.perf_counter()
            for low in range(1, todo + 1, STEP):
                await conn.execute(sql, now, low, min(todo, low + STEP - 1))
            timings[label] = round(time.perf_counter() - started, 1)
            print(f"  {label}: {todo:,} in {timings[label]} s", flush=True)
            checkpoint()
        started = time.perf_counter()
        await conn.execute("ANALYZE")
        timings["analyze"] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()


async def fill_history(
    name: str, purchases: int, now: datetime, timings: dict[str, float], checkpoint: Callable[[], None]
) -> None:
    """A welcome lot for each SQL-made member and a year of purchases with their lots and entries."""
    conn = await asyncpg.connect(pg_url(name))
    try:
        made = await conn.fetchval("SELECT count(*) FROM members WHERE registration_channel = 'pos'")
        started = time.perf_counter()
        for low in range(1, made + 1, STEP):
            await conn.execute(FILL_WELCOME, now, low, min(made, low + STEP - 1))
        timings["welcome_lots"] = round(time.perf_counter() - started, 1)
        print(f"  welcome lots: {made:,} in {timings['welcome_lots']} s", flush=True)
        checkpoint()
        started = time.perf_counter()
        lines = '[{"sku": "4607001", "category": "food", "quantity": 1, "price": 223000, "amount": 223000}]'
        for low in range(1, purchases + 1, STEP):
            await conn.execute(FILL_PURCHASES, now, low, min(purchases, low + STEP - 1), made, lines)
        timings["purchases"] = round(time.perf_counter() - started, 1)
        print(f"  purchases: {purchases:,} in {timings['purchases']} s", flush=True)
        checkpoint()
        started = time.perf_counter()
        for day in range(0, 366, 30):  # their accrual lots and ledger lines, a month of purchases at a time
            high = now - timedelta(days=day) + timedelta(minutes=1)
            await conn.execute(FILL_ACCRUALS, now, high - timedelta(days=30), high)
        timings["accruals"] = round(time.perf_counter() - started, 1)
        print(f"  accrual lots and entries in {timings['accruals']} s", flush=True)
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze"] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()


async def sizes(name: str) -> dict[str, Any]:
    conn = await asyncpg.connect(pg_url(name))
    try:
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        largest = [
            {"name": r["name"], "kind": r["kind"], "mb": round(r["bytes"] / 2**20)} for r in await conn.fetch(SIZES)
        ]
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("members", "purchases", "lots", "entries", "consents")
        }
    finally:
        await conn.close()
    return {"database_mb": round(total / 2**20), "largest": largest, "rows": counts}


def receipt(run: str, n: int, phones: list[str]) -> dict[str, Any]:
    return {
        "store_id": "bench-1",
        "receipt_id": f"{run}-{n}",
        "member": {"phone": random.choice(phones)},
        "lines": LINES,
        "redeem": 0,  # accrual only: the POS step runs before the members' welcome lots exist
    }


async def at_rate(base: str, key: str, phones: list[str], seconds: float, rate: float, run: str) -> dict[str, Any]:
    """Confirms at a fixed arrival rate; latency from the due time (no coordinated omission)."""
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {key}"}, connector=aiohttp.TCPConnector(limit=200)
    ) as http:

        async def one(n: int, due: float) -> None:
            nonlocal errors
            try:
                async with http.post(f"{base}/api/v1/purchases", json=receipt(run, n, phones)) as response:
                    await response.read()
                    errors += response.status != 201
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - due)

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = start + n / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
    }


async def pos_at_250(name: str, var_dir: Path, seconds: float, rate: float) -> dict[str, Any]:
    conn = await asyncpg.connect(pg_url(name))
    try:
        phones = [r["phone"] for r in await conn.fetch("SELECT phone FROM members TABLESAMPLE SYSTEM (1) LIMIT 20000")]
    finally:
        await conn.close()
    async with Core(Settings(database_url=app_url(name), var_dir=var_dir)) as core, core.transaction() as session:
        key = await create_api_key(session, core.clock, "bench")
    port = free_port()
    env = {
        "LOYALTY_DATABASE_URL": app_url(name),
        "LOYALTY_VAR_DIR": str(var_dir),
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_DB_POOL_SIZE": "10",
    }
    server = start_server(env, port, 2)
    try:
        base = f"http://127.0.0.1:{port}"
        await at_rate(base, key, phones, 3, 50, "warm")
        result = await at_rate(base, key, phones, seconds, rate, "r250")
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"  POS at {rate:.0f}/s: {result}", flush=True)
    return result


async def live_count(name: str, var_dir: Path) -> dict[str, Any]:
    """The segment builder's live count (what the console shows while a marketer edits a segment)."""
    from shared.segments.service import count_members

    definition = {"tiers": ["gold", "platinum"], "channels": ["telegram", "sms"]}
    async with Core(Settings(database_url=app_url(name), var_dir=var_dir)) as core:
        rules = await core.current_rules()
        started = time.perf_counter()
        async with core.reading() as session:
            count = await count_members(session, rules, definition, core.clock.now())
        elapsed = time.perf_counter() - started
    print(f"  segment live count: {count:,} members in {elapsed:.2f} s", flush=True)
    return {"definition": definition, "members": count, "seconds": round(elapsed, 2)}


async def campaign_selection(name: str, var_dir: Path, messages: int) -> dict[str, Any]:
    """A campaign to about `messages` members: segment snapshot + expansion into queued messages."""
    from notifications.campaigns import create_campaign, schedule_campaign
    from notifications.campaigns.expansion import expand_campaign
    from shared.segments import save_segment

    texts = {"sms": {"ru": {"text": "{{ name }}, скидка 10%"}, "en": {"text": "{{ name }}, 10% off"}}}
    async with Core(Settings(database_url=app_url(name), var_dir=var_dir)) as core:
        rules = await core.current_rules()
        now = core.clock.now()
        conn = await asyncpg.connect(pg_url(name))
        try:  # the last N days of registrations, N giving about `messages` members with SMS consent
            reachable = await conn.fetchval("SELECT count(*) FROM consents WHERE channel = 'sms' AND granted")
        finally:
            await conn.close()
        days = max(1, min(365, round(365 * messages / max(1, reachable))))  # registered over the past year
        first = (now - timedelta(days=days)).date()
        definition = {
            "channels": ["sms"],
            "registered_from": first.isoformat(),
            "registered_to": now.date().isoformat(),
        }
        started = time.perf_counter()
        async with core.transaction() as session:
            segment = await save_segment(session, rules, "Scale", definition, now)
        saved = time.perf_counter() - started
        async with core.transaction() as session:
            campaign = await create_campaign(
                session,
                name="Scale",
                segment_id=segment.id,
                channels=["sms"],
                control_percent=0,
                now=now,
                variants=[{"code": "A", "templates": texts}],
            )
            await schedule_campaign(session, campaign.id, now, now)
        started_expand = time.perf_counter()
        await expand_campaign(core, campaign.id)
        expanded = time.perf_counter() - started_expand
    conn = await asyncpg.connect(pg_url(name))
    try:
        queued = await conn.fetchval("SELECT count(*) FROM messages")
    finally:
        await conn.close()
    result = {
        "definition": definition,
        "segment_members": segment.member_count,
        "messages": queued,
        "segment_seconds": round(saved, 1),
        "expand_seconds": round(expanded, 1),
    }
    print(f"  campaign: {result}", flush=True)
    return result


async def one_size(
    name: str, members: int, purchases: int, var_dir: Path, args: argparse.Namespace, result: dict[str, Any]
) -> None:
    """One database of that size, measured step by step; `result` is written after each step, so a run
    stopped half-way still leaves its figures in bench/results/scale.json."""
    full = members == args.members
    now = datetime.now(UTC)
    print(f"{name}: {members:,} members, {purchases:,} purchases", flush=True)
    result.update({"members": members, "purchases": purchases})
    if not (full and args.reuse):  # --reuse: members and consents are there (a run stopped after them)
        await create_database(name)
    if full and args.import_rows:
        result["import"] = await timed_import(name, min(args.import_rows, members), var_dir)
        args.checkpoint()
    result["fill_seconds"] = {}
    if not (full and args.reuse):
        await fill_members(name, members, now, result["fill_seconds"], args.checkpoint)
    result["size_members_only"] = await sizes(name)
    args.checkpoint()
    if full:  # what needs only members and consents first: a run cut short still has these
        result["segment_live_count"] = await live_count(name, var_dir)
        args.checkpoint()
        result["campaign"] = await campaign_selection(name, var_dir, args.messages)
        args.checkpoint()
    result["pos"] = await pos_at_250(name, var_dir, args.seconds, args.rate)
    args.checkpoint()
    await fill_history(name, purchases, now, result["fill_seconds"], args.checkpoint)
    result["size"] = await sizes(name)
    print(f"  size: {result['size']}", flush=True)
    args.checkpoint()


async def run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    big, small = args.reuse or f"loyalty_scale_{os.getpid()}", f"loyalty_scale_small_{os.getpid()}"
    try:  # the large one first: it is what a run cut short by the clock must not miss
        results["large"] = {}
        await one_size(big, args.members, args.purchases, var_dir, args, results["large"])
        if not args.keep:
            await drop_database(big)
        results["small"] = {}
        await one_size(small, 100_000, 100_000, var_dir, args, results["small"])
    finally:
        if not args.keep:
            await drop_database(small)
            await drop_database(big)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--purchases", type=int, default=None, help="default: 2 per member (a year)")
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=1_000_000, help="the campaign's audience")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=250)
    parser.add_argument("--keep", action="store_true", help="keep the databases (for a look afterwards)")
    parser.add_argument("--import-only", action="store_true", help="only the timed import, on an empty database")
    parser.add_argument("--reuse", default=None, help="a database whose members and consents are filled already")
    parser.add_argument("--result", default=None, help="name of the JSON in bench/results (default: scale)")
    parser.add_argument("--orm", action="store_true", help="with --import-only: the ORM path, for comparison")
    args = parser.parse_args()
    if args.purchases is None:
        args.purchases = 2 * args.members
    started = time.perf_counter()
    result: dict[str, Any] = {"partial": True}
    name = args.result or ("scale" if not args.import_only else "scale-import-orm" if args.orm else "scale-import")

    def checkpoint() -> None:
        result["wall_seconds"] = round(time.perf_counter() - started)
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        write_result(name, result)

    args.checkpoint = checkpoint
    if args.import_only:
        result["import"] = asyncio.run(import_only(args))
    else:
        asyncio.run(run(args, result))
    result["partial"] = False
    checkpoint()


async def import_only(args: argparse.Namespace) -> dict[str, Any]:
    name = f"loyalty_scale_import_{os.getpid()}"
    var_dir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    await create_database(name)
    try:
        return await timed_import(name, args.import_rows, var_dir, copy=not args.orm)
    finally:
        if not args.keep:
            await drop_database(name)


if __name__ == "__main__":
    main()
