"""Debian's Chromium (Playwright) against the real app on a loopback port and the real notifier worker
(APScheduler running the marketing job every second, log providers): a marketer signs in, builds
"Gold members who haven't bought for 60 days", sends them an SMS+Telegram campaign, watches the
progress bar reach 100% and sees delivery per channel next to the control group."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from notifications.channels.log import LogChannel
from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from shared.db.models.campaigns import CampaignMember
from shared.db.models.console import StaffAccount
from shared.staff import hash_password
from tests.integration.marketing.builders import bought, member
from tests.stubs.serving import free_port

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EMAIL, PASSWORD = "mila@shop.example", "correct horse battery"


@contextlib.asynccontextmanager
async def running(core: Core, settings: Settings, port: int) -> AsyncIterator[Path]:
    """The web app on `port` and the notifier worker (with its scheduler) writing to a sink."""
    from webapp.app import create_app

    sink = settings.var_dir / "e2e-console-messages.jsonl"
    sink.unlink(missing_ok=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, core=core), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    worker = Worker(core, {name: LogChannel(name, sink) for name in ("sms", "viber", "email", "push", "telegram")})
    stop = asyncio.Event()
    working = asyncio.create_task(worker.run(stop))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield sink
    finally:
        stop.set()
        await working
        server.should_exit = True
        await serving


async def seed(core: Core) -> None:
    """Twenty Gold members quiet for 61-80 days (half of them on Telegram), two recent Gold buyers."""
    now = core.clock.now()
    for n in range(1, 23):
        telegram = n % 2 == 0
        member_id = await member(core, n, consents=("sms", "telegram") if telegram else ("sms",))
        await bought(core, member_id, now - timedelta(days=60 + n if n <= 20 else 3), 35_000_00)  # Gold: 30,000+
        async with core.transaction() as session:
            found = await session.get(Member, member_id)
            assert found is not None
            found.tier_code = "gold"
            found.telegram_user_id = 7_000_000 + n if telegram else None
    async with core.transaction() as session:
        session.add(
            StaffAccount(
                email=EMAIL, role="marketer", password_hash=await hash_password(PASSWORD), active=True, created_at=now
            )
        )


async def test_a_marketer_sends_a_campaign_and_watches_it_finish(core: Core, settings: Settings) -> None:
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (make services does it)")
    from playwright.async_api import async_playwright, expect

    port = free_port()
    notify = {**settings.notify.model_dump(), "quiet_start_hour": 0, "quiet_end_hour": 24, "campaigns_seconds": 1}
    live = Settings(
        **{**settings.model_dump(exclude={"cabinet"}), "public_url": f"http://127.0.0.1:{port}", "notify": notify}
    )
    web_core = Core(live, engine=core.engine)  # the real clock, as in production
    await seed(web_core)
    base = f"http://127.0.0.1:{port}"
    async with running(web_core, live, port) as sink, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page()
        await page.goto(base + "/console")
        await page.get_by_label("E-mail").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(base + "/console")

        await page.get_by_role("navigation", name="Console").get_by_role("link", name="Segments").click()
        await page.get_by_role("link", name="New segment").click()
        await expect(page.locator("#member-count")).to_have_text("22")
        await page.get_by_label("Segment name").fill("Gold, quiet for 60 days")
        await page.get_by_label("Gold").check()
        await page.get_by_label("No purchase for at least N days").fill("60")
        await expect(page.locator("#member-count")).to_have_text("20")  # the live count followed the filters
        await page.get_by_role("button", name="Save segment").click()
        await expect(page.locator("p.ok")).to_contain_text("the snapshot holds 20 members")

        await page.get_by_role("link", name="a new campaign").click()
        await page.get_by_label("Campaign name").fill("Come back, Gold")
        await page.get_by_role("spinbutton", name="Control group").fill("20")
        await page.get_by_label("Channel 1").select_option("telegram")
        await page.get_by_label("Channel 2").select_option("sms")
        await page.get_by_label("Variant A telegram text ru").fill("{{ name }}, скидка 15% для Gold до воскресенья")
        await page.get_by_label("Variant A sms text ru").fill("Скидка 15% до вс. Баланс {{ balance }}")
        await page.get_by_role("button", name="Create campaign").click()
        await page.wait_for_url(re.compile(r".*/console/campaigns/\d+$"))
        assert "telegram → sms" in await page.inner_text("main")

        await page.get_by_role("button", name="Preview").click()
        await expect(page.locator("#preview-text")).to_contain_text("скидка 15% для Gold")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#progress-percent")).to_have_text("100.0%", timeout=30_000)
        await expect(page.locator("#campaign-status")).to_have_text("done")
        assert await page.get_attribute("#progress", "hx-trigger") is None  # polling stopped

        delivery = await page.inner_text("#delivery")
        control = int(await page.inner_text("#control-size"))
        assert "telegram" in delivery
        assert "sms" in delivery
        assert 0 < control < 20
        sent = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
        assert len([m for m in sent if m["kind"] == "campaign"]) == 20 - control
        assert "<td>control</td>" in await page.inner_html("#attribution")

        async with web_core.reading() as session:  # a recipient comes back and buys: attributed revenue
            treated = (
                await session.execute(select(CampaignMember.member_id).where(CampaignMember.variant == "A").limit(1))
            ).scalar_one()
        await bought(web_core, treated, web_core.clock.now(), 2_500_00)
        await page.reload()
        row = await page.inner_text("#attribution tbody tr:first-child")
        assert row.startswith("A")
        assert "2500.00" in row
        await browser.close()
