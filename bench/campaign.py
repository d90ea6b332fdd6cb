"""Campaign benchmark: 1,000,000 members seeded in bulk on PostgreSQL, a segment that selects most of
them (reachable by Telegram or SMS with consent), and a campaign (two A/B arms, 10 % control) expanded
through the real expansion path (arm, routing, consent, quiet hours, cap, unique key) into queued
messages whose texts the sending worker writes. Time and peak RSS of this process (the expansion runs
here), beside a raw INSERT ... SELECT of the same number of message rows into a copy of the messages
table; then the worker's rendering of a sample of those messages, to show what moved to sending.

Targets (issue 8): <= 60 s and <= 300 MB. Usage: python bench/campaign.py [--members 1000000]
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
from sqlalchemy import func, select

from bench.common import PG_ADMIN, write_result
from notifications.campaigns import create_campaign, schedule_campaign
from notifications.campaigns.deferred import render_claimed
from notifications.campaigns.expansion import SQL_BATCH, expand_campaign
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.migrate import upgrade
from shared.db.models.campaigns import CONTROL, CampaignMember
from shared.db.models.messages import Message
from shared.segments import save_segment

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: no quiet-hours deferral
DB = "loyalty_campaign_bench"
SEED = """
INSERT INTO members (id, phone, card_number, first_name, language, tier_code, registration_channel, available,
                     pending, debt, wallet_serial, wallet_auth_token, telegram_user_id, created_at, updated_at)
SELECT md5('m' || i)::uuid, '+7900' || lpad(i::text, 7, '0'), '2' || lpad(i::text, 12, '0'),
       (ARRAY['Анна','Иван','Мария','Пётр','Елена','Олег'])[1 + i % 6], CASE WHEN i % 10 = 0 THEN 'en' ELSE 'ru' END,
       (ARRAY['standard','standard','gold','platinum'])[1 + i % 4], 'import', i % 5000, 0, 0, 'w' || i,
       md5('t' || i),
       CASE WHEN i % 3 = 0 THEN 100000000 + i END, $1, $1
FROM generate_series(1, $2) AS i
"""
CONSENTS = """
INSERT INTO consents (member_id, channel, granted, changed_at, source, method)
SELECT id, 'sms', true, $1::timestamptz, 'bench', 'import' FROM members WHERE right(phone, 2) <> '07'
UNION ALL
SELECT id, 'telegram', true, $1::timestamptz, 'bench', 'import' FROM members WHERE telegram_user_id IS NOT NULL
"""
RAW = """
INSERT INTO raw_messages (source, recipient, member_id, channel, kind, promotional, address, language, text, meta,
                          cascade, status, attempts, next_attempt_at, cost_parts, created_at)
SELECT 'raw:1', id::text, id, 'sms', 'campaign', true, phone, language,
       first_name || ', скидка 10% до воскресенья. Баланс ' || available, '{"context": {}}', '[]', 'queued', 0,
       $1, 1, $1
FROM members
"""
TEXTS = {
    "telegram": {
        "ru": {"text": "{{ name }}, у вас {{ balance }} баллов, уровень «{{ tier }}». Скидка 10% до воскресенья!"},
        "en": {"text": "{{ name }}, you have {{ balance }} points ({{ tier }}). 10% off until Sunday!"},
    },
    "sms": {
        "ru": {"text": "{{ name }}, скидка 10% до вс. Баланс {{ balance }}"},
        "en": {"text": "{{ name }}, 10% off until Sunday. Balance {{ balance }}"},
    },
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(members: int) -> tuple[str, float]:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + DB
    await asyncio.to_thread(upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    await conn.execute(SEED, NOW, members)
    await conn.execute(CONSENTS, NOW)
    await conn.execute("ANALYZE")
    await conn.close()
    return url, time.perf_counter() - started


async def raw_insert(url: str) -> float:
    """The physical limit: the same number of rows, one INSERT ... SELECT, into a table with the same indexes."""
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE raw_messages (LIKE messages INCLUDING ALL)")
    started = time.perf_counter()
    await conn.execute(RAW, NOW)
    elapsed = time.perf_counter() - started
    await conn.execute("DROP TABLE raw_messages")
    await conn.close()
    return elapsed


async def run(members: int, batch: int) -> dict[str, Any]:
    url, seeded = await seed(members)
    print(f"seeded {members:,} members with consents in {seeded:.1f} s")
    raw = await raw_insert(url)
    print(f"raw INSERT ... SELECT of {members:,} message rows: {raw:.1f} s")
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+asyncpg://"), secret_key="bench-" + "x" * 32
    )
    core = Core(settings, FixedClock(NOW))
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    async with core.transaction() as session:
        segment = await save_segment(session, core.rules, "Reachable", {"channels": ["telegram", "sms"]}, NOW)
    selected = time.perf_counter() - started
    print(f"segment saved: {segment.member_count:,} members in {selected:.1f} s")
    async with core.transaction() as session:
        campaign = await create_campaign(
            session,
            name="Weekend",
            segment_id=segment.id,
            channels=["telegram", "sms"],
            control_percent=10,
            now=NOW,
            variants=[{"code": "A", "templates": TEXTS}, {"code": "B", "templates": TEXTS}],
        )
        await schedule_campaign(session, campaign.id, NOW, NOW)
    expand_started = time.perf_counter()
    await expand_campaign(core, campaign.id, batch)
    expanded = time.perf_counter() - expand_started
    total = time.perf_counter() - started
    rendered, render_seconds = await render_sample(core)
    async with core.reading() as session:
        messages = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
        recipients = (await session.execute(select(func.count(func.distinct(Message.member_id))))).scalar_one()
        by_channel = dict(
            (await session.execute(select(Message.channel, func.count()).group_by(Message.channel))).all()
        )
        control = (
            await session.execute(
                select(func.count()).select_from(CampaignMember).where(CampaignMember.variant == CONTROL)
            )
        ).scalar_one()
    await core.close()
    result = {
        "members": members,
        "segment_members": segment.member_count,
        "control": control,
        "messages": messages,
        "by_channel": by_channel,
        "duplicates": messages - recipients,
        "seed_seconds": round(seeded, 1),
        "select_seconds": round(selected, 1),
        "expand_seconds": round(expanded, 1),
        "total_seconds": round(total, 1),
        "messages_per_second": round(messages / expanded),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        "raw_insert_seconds": round(raw, 1),
        "batch": batch,
        "rendered_sample": rendered,
        "rendered_per_second": round(rendered / render_seconds),
        "targets": {"seconds": 60, "peak_rss_mb": 300},
    }
    print(
        f"campaign: {messages:,} messages ({by_channel}) to {recipients:,} members, control {control:,}; "
        f"select {selected:.1f} s + expand {expanded:.1f} s = {total:.1f} s; peak RSS {result['peak_rss_mb']} MB"
    )
    return result


async def render_sample(core: Core, size: int = 20_000) -> tuple[int, float]:
    """What the worker does at claim time, batch by batch, for `size` queued messages (rolled back)."""
    async with core.reading() as session:
        ids = list((await session.execute(select(Message.id).order_by(Message.id).limit(size))).scalars())
    batch = core.settings.notify.batch_size
    started = time.perf_counter()
    async with core.transaction() as session:
        for start in range(0, len(ids), batch):
            claimed = list(
                (await session.execute(select(Message).where(Message.id.in_(ids[start : start + batch])))).scalars()
            )
            assert not await render_claimed(session, core.settings, claimed)
        elapsed = time.perf_counter() - started
        await session.rollback()
    print(
        f"rendered {len(ids):,} queued messages as the worker does when it claims them: {len(ids) / elapsed:,.0f} msg/s"
    )
    return len(ids), elapsed


def markdown(r: dict[str, Any]) -> list[str]:
    met = r["total_seconds"] <= r["targets"]["seconds"] and r["peak_rss_mb"] <= r["targets"]["peak_rss_mb"]
    return [
        "## Campaign expansion (`bench/campaign.py`)",
        "",
        f'{r["members"]:,} members seeded by SQL on PostgreSQL; a segment "reachable by Telegram or SMS with '
        f'consent" ({r["segment_members"]:,} members) saved with its snapshot, then a campaign (two A/B arms, '
        f"10 % control) expanded in batches of {r['batch']:,} through the real path: one PostgreSQL statement "
        "per batch decides each member's arm, the first channel of the cascade with an address, consent, no "
        "known failure and room under the promotional cap, and the send time (quiet hours by zone), then writes "
        "one assignment row per member and one queued message per member and channel under the unique key. "
        "The text is written by the worker when it sends the message (with the balance of that moment); the "
        "last row shows that rate. One process; peak RSS from `getrusage`.",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| select: save the segment (one INSERT ... SELECT into the snapshot) | {r['select_seconds']} |",
        f"| expand: {r['messages']:,} queued messages + {r['segment_members']:,} assignment rows | "
        f"{r['expand_seconds']} ({r['messages_per_second']:,} messages/s) |",
        f"| **total** | **{r['total_seconds']}** |",
        f"| physical limit, same run: raw INSERT ... SELECT of {r['members']:,} message rows | "
        f"{r['raw_insert_seconds']} |",
        f"| at sending, in the worker: texts written for {r['rendered_sample']:,} of them | "
        f"{r['rendered_per_second']:,} messages/s on one core |",
        "",
        f"Messages by channel: {', '.join(f'{k} {v:,}' for k, v in r['by_channel'].items())}; control group "
        f"{r['control']:,}; duplicates {r['duplicates']}. Peak RSS **{r['peak_rss_mb']} MB**. Load average "
        f"after the run {r['load_average_after']} (the two cores are shared with other work).",
        "",
        f"Targets (issue 8): ≤ {r['targets']['seconds']} s and ≤ {r['targets']['peak_rss_mb']} MB → "
        f"{r['total_seconds']} s, {r['peak_rss_mb']} MB: **{'met' if met else 'missed'}**.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=SQL_BATCH, help="members per batch (PostgreSQL statement)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.members, args.batch))
    result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    result["markdown"] = markdown(result)
    if not args.no_write:
        write_result("campaign", result)


if __name__ == "__main__":
    main()
