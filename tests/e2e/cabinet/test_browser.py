"""Debian's Chromium (Playwright) against the real app on a loopback port, with the notifier writing
messages to the log sink: sign in with the code from the sink, see the balance, install, go offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from notifications.channels.log import LogChannel
from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from shared.members import Registration, register
from tests.stubs.serving import free_port

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = "+79161112233"


@contextlib.asynccontextmanager
async def running(core: Core, settings: Settings, port: int) -> AsyncIterator[Path]:
    """The web app on `port` and a notifier loop writing to a messages.jsonl sink."""
    from webapp.app import create_app

    sink = settings.var_dir / "e2e-messages.jsonl"
    sink.unlink(missing_ok=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, core=core), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    worker = Worker(core, {name: LogChannel(name, sink) for name in ("sms", "viber", "email", "push", "telegram")})
    stop = asyncio.Event()

    async def notify() -> None:
        while not stop.is_set():
            await worker.run_once()
            await asyncio.sleep(0.1)

    notifying = asyncio.create_task(notify())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield sink
    finally:
        stop.set()
        await notifying
        server.should_exit = True
        await serving


async def code_from(sink: Path) -> str:
    for _ in range(100):
        text = await asyncio.to_thread(lambda: sink.read_text(encoding="utf-8") if sink.exists() else "")
        if text:
            for line in text.splitlines():
                message = json.loads(line)
                if message["kind"] == "login_code" and message["to"] == PHONE:
                    return re.findall(r"\d{6}", message["text"])[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no login code reached the message sink")


async def test_sign_in_see_the_balance_install_and_keep_the_card_offline(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (make services does it)")
    from playwright.async_api import async_playwright

    port = free_port()
    live = Settings(**{**settings.model_dump(exclude={"cabinet"}), "public_url": f"http://127.0.0.1:{port}"})
    web_core = Core(live, engine=core.engine)  # the real clock, as in production
    async with web_core.transaction() as session:
        member, _ = await register(
            session, web_core.clock, web_core.rules, Registration(phone=PHONE, first_name="Анна", source="pos")
        )
    base = f"http://127.0.0.1:{port}"
    async with running(web_core, live, port) as sink, async_playwright() as pw:
        # a profile on disk, not incognito: Chromium offers installation only there
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), locale="ru-RU", executable_path=str(CHROMIUM), args=ARGS
        )
        page = await context.new_page()
        await page.goto(base + "/")
        assert page.url == base + "/cabinet/login"
        await page.get_by_label("Номер телефона").fill("8 916 111-22-33")
        await page.get_by_role("button", name="Получить код").click()
        await page.get_by_label("Код из сообщения").fill(await code_from(sink))
        await page.get_by_role("button", name="Войти").click()
        await page.wait_for_url(base + "/cabinet/card")
        assert await page.get_by_role("heading", name="Моя карта").is_visible()
        assert member.card_number in await page.inner_text("main")
        assert "100" in await page.inner_text(".balance")
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["loyalty_session"]["httpOnly"]
        assert cookies["loyalty_session"]["secure"]

        await page.get_by_role("link", name="Баланс").click()  # the card page loads no htmx: a plain link
        await page.wait_for_url(base + "/cabinet/balance")
        await page.wait_for_function("window.htmx !== undefined")
        await page.get_by_role("link", name="История").click()  # htmx swaps the fragment in
        await page.wait_for_url(base + "/cabinet/history")
        assert "Бонус" in await page.inner_text("main")
        assert await page.title() == "История баллов · Loyalty"
        assert await page.get_attribute('nav a[aria-current="page"]', "href") == "/cabinet/history"
        assert await page.evaluate("document.activeElement.id") == "main"  # keyboard focus follows the swap

        cdp = await context.new_cdp_session(page)
        await page.goto(base + "/cabinet/card")
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        for _ in range(50):
            errors = (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"]
            if not errors:
                break
            await asyncio.sleep(0.2)
        assert errors == [], errors  # Chromium would offer to install the app
        await page.reload()  # now under the service worker, which keeps this copy
        await page.wait_for_function("navigator.serviceWorker.controller !== null")
        shown = await page.inner_text(".as-of")

        await context.set_offline(True)
        await page.goto(base + "/cabinet/card")
        assert member.card_number in await page.inner_text("main")
        assert await page.inner_text(".as-of") == shown
        assert "Баланс на" in shown
        await page.wait_for_selector("#offline", state="visible", timeout=5000)  # "showing the last known data"
        await context.close()
