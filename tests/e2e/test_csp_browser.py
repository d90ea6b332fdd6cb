"""Debian's Chromium (Playwright) against the real app on a loopback port, under the real
Content-Security-Policy: the cabinet and the console load and work (htmx swaps included) with no
CSP violation reported, neither in the console log nor as a securitypolicyviolation event."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from shared.config import Settings
from shared.core import Core
from shared.db.models.console import StaffAccount
from shared.members import Registration, register
from shared.staff import hash_password
from tests.e2e.cabinet.test_browser import ARGS, CHROMIUM, PHONE, code_from, running
from tests.stubs.serving import free_port

pytestmark = pytest.mark.e2e
EMAIL, PASSWORD = "csp@shop.example", "correct horse battery"
RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


async def violations(page: Any) -> list[str]:
    return await page.evaluate("window.__csp || []")  # type: ignore[no-any-return]


async def test_cabinet_and_console_work_under_the_policy(core: Core, settings: Settings, tmp_path: Path) -> None:
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (make services does it)")
    from playwright.async_api import async_playwright

    port = free_port()
    live = Settings(**{**settings.model_dump(exclude={"cabinet"}), "public_url": f"http://127.0.0.1:{port}"})
    web_core = Core(live, engine=core.engine)
    async with web_core.transaction() as session:
        member, _ = await register(
            session, web_core.clock, web_core.rules, Registration(phone=PHONE, first_name="Анна", source="pos")
        )
        session.add(
            StaffAccount(
                email=EMAIL,
                role="admin",
                password_hash=await hash_password(PASSWORD),
                active=True,
                created_at=web_core.clock.now(),
            )
        )
    base = f"http://127.0.0.1:{port}"
    logged: list[str] = []
    seen: list[str] = []
    async with running(web_core, live, port) as sink, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = await browser.new_context(locale="ru-RU")
        await context.add_init_script(RECORD)
        page = await context.new_page()
        page.on("console", lambda message: logged.append(message.text))

        async def check(where: str) -> None:
            seen.extend(f"{where}: {v}" for v in await violations(page))

        # the cabinet: sign in with a code, the card, the balance with its progress bar, htmx history
        response = await page.goto(base + "/cabinet/login")
        assert response is not None
        assert "script-src 'self';" in response.headers["content-security-policy"]  # the policy is on
        await page.get_by_label("Номер телефона").fill("8 916 111-22-33")
        await page.get_by_role("button", name="Получить код").click()
        await page.get_by_label("Код из сообщения").fill(await code_from(sink))
        await page.get_by_role("button", name="Войти").click()
        await page.wait_for_url(base + "/cabinet/card")
        await check("card")
        await page.goto(base + "/cabinet/balance")
        await page.wait_for_function("window.htmx !== undefined")
        track = await page.locator(".progress svg").bounding_box()  # the tier progress, without inline style
        assert track is not None
        assert track["width"] > 100
        percent = await page.get_attribute(".progress", "aria-valuenow")
        assert await page.get_attribute(".progress rect", "width") == percent
        await page.get_by_role("link", name="История").click()  # htmx swaps the fragment in
        await page.wait_for_url(base + "/cabinet/history")
        assert "Бонус" in await page.inner_text("main")
        await check("cabinet history")
        await page.goto(base + "/cabinet/profile")
        await check("profile")
        await page.goto(base + "/cabinet/telegram")  # without Telegram's data: to sign-in (here: the card)
        await page.wait_for_url(re.compile(r".*/cabinet/(login|card)$"))
        await check("telegram")

        # the console: sign in, htmx live search, an error page with its Back link (in Russian, the
        # language of this browser)
        response = await page.goto(base + "/console")
        assert response is not None
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        await page.get_by_label("E-mail").fill(EMAIL)
        await page.get_by_label("Пароль").fill(PASSWORD)
        await page.get_by_role("button", name="Вход").click()
        await page.wait_for_url(base + "/console")
        await check("console home")
        await page.goto(base + "/console/members")
        await page.wait_for_function("window.htmx !== undefined")
        await page.locator("#q").fill(member.card_number)  # htmx searches as the staff member types
        await expect(page.locator("#results")).to_contain_text("Анна")
        await check("members search")
        await page.goto(base + "/console/segments/new")
        await check("segment builder")
        await page.goto(base + "/console/reports/")
        await check("reports")
        await page.goto(base + "/console/reports/category_overlap")  # the heat map: colour classes only
        await check("category overlap")
        await page.goto(base + "/console/chains/")  # with the digest's results
        await check("chains and digest")
        await page.goto(base + "/console/reports/no_such_report")
        await check("error page")
        await browser.close()

    csp_logged = [line for line in logged if "Content Security Policy" in line or "Refused to" in line]
    assert csp_logged == []
    assert seen == []
