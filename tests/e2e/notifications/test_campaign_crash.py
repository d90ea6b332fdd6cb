"""A campaign to 100,000 members, the worker killed -9 while it is still expanding the audience (and
sending): after a restart every member outside the control group got exactly one SMS, and the
aggregator stub saw each message once."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from notifications.campaigns import create_campaign, schedule_campaign
from shared.config import Settings
from shared.core import Core
from shared.db.models.campaigns import CampaignMember
from shared.db.models.messages import Message
from shared.segments import save_segment
from tests.e2e.notifications.test_crash import _up, start, stub_stats, wait_for, worker_env
from tests.stubs.serving import free_port

pytestmark = pytest.mark.postgres_only
TOTAL = 100_000
SEED = """
INSERT INTO members (id, phone, card_number, first_name, language, tier_code, registration_channel, available,
                     pending, debt, wallet_serial, wallet_auth_token, time_zone, created_at, updated_at)
SELECT md5('c' || i)::uuid, '+7901' || lpad(i::text, 7, '0'), '3' || lpad(i::text, 12, '0'),
       (ARRAY['Анна','Иван','Мария'])[1 + i % 3], 'ru', 'standard', 'import', i % 5000, 0, 0, 'c' || i, md5('t' || i),
       :zone, :now, :now
FROM generate_series(1, :total) AS i;
INSERT INTO consents (member_id, channel, granted, changed_at, source, method)
SELECT id, 'sms', true, :now, 'test', 'import' FROM members;
"""


def daytime_zone() -> str:
    """A fixed-offset zone where it is about noon now (the worker runs on the real clock, and
    promotional messages wait for the daytime)."""
    offset = 12 - datetime.now(UTC).hour  # hours east of UTC
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


async def seed_campaign(core: Core) -> int:
    now = core.clock.now()
    async with core.transaction() as session:
        for statement in SEED.strip().split(";\n"):
            await session.execute(text(statement), {"zone": daytime_zone(), "now": now, "total": TOTAL})
        segment = await save_segment(session, core.rules, "Everyone", {"channels": ["sms"]}, now)
        assert segment.member_count == TOTAL
        campaign = await create_campaign(
            session,
            name="Crash",
            segment_id=segment.id,
            channels=["sms"],
            control_percent=5,
            now=now,
            variants=[{"code": "A", "templates": {"sms": {"ru": {"text": "{{ name }}: скидка 10%, {{ balance }}"}}}}],
        )
        await schedule_campaign(session, campaign.id, now, now)
    return campaign.id


async def test_kill_9_mid_campaign_sends_each_member_exactly_once(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    campaign_id = await seed_campaign(core)
    port = free_port()
    log = tmp_path / "stub.log"
    stub = start(["-m", "tests.stubs.smsc", "--port", str(port), "--log", str(log)])
    env = {**worker_env(settings, port), "LOYALTY_NOTIFY_CAMPAIGNS_SECONDS": "1", "LOYALTY_NOTIFY_BATCH_SIZE": "500"}
    worker = None

    async def expanded() -> int:
        async with core.reading() as session:
            return int(
                (
                    await session.execute(
                        text("SELECT expanded_count FROM campaigns WHERE id = :id"), {"id": campaign_id}
                    )
                ).scalar_one()
            )

    try:
        async with httpx.AsyncClient() as http:
            assert await wait_for(lambda: _up(http, port), 20), "stub did not start"
            worker = start(["-m", "loyalty.cli", "worker"], env)

            async def mid_way() -> bool:
                return await expanded() >= 20_000 and int((await stub_stats(http, port))["accepted"]) > 0

            assert await wait_for(mid_way, 120), "the worker neither expanded nor sent"
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed_at = await expanded()
            assert killed_at < TOTAL, "killed after the expansion ended: nothing proved about resuming it"
            worker = start(["-m", "loyalty.cli", "worker"], env)

            async def all_settled() -> bool:
                async with core.reading() as session:
                    status = (
                        await session.execute(text("SELECT status FROM campaigns WHERE id = :id"), {"id": campaign_id})
                    ).scalar_one()
                    left = (
                        await session.execute(
                            select(func.count())
                            .select_from(Message)
                            .where(Message.status.not_in(("sent", "delivered")))
                        )
                    ).scalar_one()
                return status == "done" and left == 0

            assert await wait_for(all_settled, 240), "the campaign did not finish after the restart"
            stats = await stub_stats(http, port)
    finally:
        for process in (worker, stub):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
    async with core.reading() as session:
        ids = set(
            (await session.execute(select(Message.id).where(Message.source == f"campaign:{campaign_id}"))).scalars()
        )
        phones = set(
            (
                await session.execute(select(Message.address).where(Message.source == f"campaign:{campaign_id}"))
            ).scalars()
        )
        per_member = (await session.execute(select(func.count(func.distinct(Message.member_id))))).scalar_one()
        treated = (
            await session.execute(
                select(func.count())
                .select_from(CampaignMember)
                .where(CampaignMember.campaign_id == campaign_id, CampaignMember.variant != "control")
            )
        ).scalar_one()
        assigned = (await session.execute(select(func.count()).select_from(CampaignMember))).scalar_one()
    print(f"killed with {killed_at} of {TOTAL} members expanded; {len(ids)} messages")
    assert assigned == TOTAL
    assert 0.9 * TOTAL < treated < TOTAL
    assert len(ids) == per_member == treated
    logged = log.read_text(encoding="utf-8").split()
    assert stats["duplicates"] == {}
    assert len(logged) == len(ids)
    assert set(logged) == {p.lstrip("+") for p in phones}  # the stub logs the phone of each message it took
