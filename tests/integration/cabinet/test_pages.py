"""Every cabinet page as a full page and as an htmx fragment, with what a member would look for."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from shared import purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Member
from tests.integration.cabinet.conftest import HX, make_member, sign_in
from tests.integration.offers.helpers import give_offer
from tests.integration.partners.coalition import BANK, OWN, make_coalition

PAGES = {
    "/cabinet/card": "Моя карта",
    "/cabinet/balance": "Ожидают начисления",
    "/cabinet/history": "История баллов",
    "/cabinet/offers": "Приветственный бонус: 100 баллов",
    "/cabinet/purchases": "Траты по месяцам",
    "/cabinet/profile": "Согласия на сообщения",
}


async def buy(
    core: Core,
    member: Member,
    receipt: str,
    lines: list[dict[str, object]],
    at_hours: float = 0,
    store: str = "msk-001",
) -> None:
    moment = core.clock.now() + timedelta(hours=at_hours)
    async with core.transaction() as session:
        await purchases.confirm(
            session,
            FixedClock(moment),
            core.rules,
            {
                "store_id": store,
                "receipt_id": receipt,
                "purchased_at": moment.isoformat(),
                "member": {"member_id": str(member.id)},
                "lines": lines,
                "redeem": 0,
            },
        )


@pytest.mark.parametrize("path", list(PAGES))
async def test_every_page_full_and_as_fragment(web: httpx.AsyncClient, core: Core, path: str) -> None:
    await make_member(core)
    await sign_in(web, core)
    full = await web.get(path)
    assert full.status_code == 200
    assert full.text.startswith("<!doctype html>")
    assert PAGES[path] in full.text
    assert 'rel="manifest"' in full.text
    assert 'aria-current="page"' in full.text
    fragment = await web.get(path, headers=HX)
    assert fragment.status_code == 200
    assert "<!doctype" not in fragment.text
    assert PAGES[path] in fragment.text
    assert fragment.text.lstrip().startswith("<title>")
    assert 'hx-swap-oob="true"' in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    restore = await web.get(path, headers={**HX, "HX-History-Restore-Request": "true"})
    assert restore.text.startswith("<!doctype html>")


@pytest.mark.parametrize("path", list(PAGES))
async def test_every_page_needs_a_session(web: httpx.AsyncClient, path: str) -> None:
    page = await web.get(path)
    assert page.status_code == 303
    assert page.headers["location"] == "/cabinet/login"
    fragment = await web.get(path, headers=HX)
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/cabinet/login"


async def test_card_has_a_scannable_barcode_and_wallet_buttons(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    page = (await web.get("/cabinet/card")).text
    assert f'aria-label="QR-код карты {member.card_number}"' in page
    assert f'aria-label="Штрихкод карты {member.card_number}"' in page
    assert "Добавить в Apple Wallet" in page
    assert "Сохранить в Google Wallet" in page
    apple = await web.get("/cabinet/wallet/apple")
    assert apple.status_code == 303
    assert apple.headers["location"].startswith(f"http://127.0.0.1:8000/wallet/apple/{member.wallet_serial}.pkpass")
    google = await web.get("/cabinet/wallet/google")
    assert google.headers["location"].startswith("https://pay.google.com/gp/v/save/")
    assert (await web.get("/cabinet/wallet/samsung")).status_code == 404
    assert "Баланс на 22.11.2026 12:00" in page  # as of now, Moscow time


async def test_balance_shows_pending_with_dates_and_tier_progress(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await buy(core, member, "R1", [{"sku": "1", "quantity": 1, "price": 1_000_000, "amount": 1_000_000}])
    await sign_in(web, core)
    page = (await web.get("/cabinet/balance")).text
    assert "Ожидают начисления: 500" in page
    assert "500 — с 23.11.2026 12:00" in page
    assert 'role="progressbar"' in page
    assert 'aria-valuenow="33"' in page
    assert "До уровня «Золото» осталось" in page


async def test_history_scrolls_page_by_page(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    for i in range(25):
        await buy(
            core,
            member,
            f"R{i}",
            [{"sku": "1", "quantity": 1, "price": 10000 + i * 100, "amount": 10000 + i * 100}],
            at_hours=i / 10,
        )
    await sign_in(web, core)
    first = (await web.get("/cabinet/history")).text
    assert first.count('class="entry') == 20
    assert 'hx-trigger="revealed"' in first
    more = re.search(r'hx-get="/cabinet/history\?before=(\d+)"', first)
    assert more
    rest = await web.get(f"/cabinet/history?before={more.group(1)}", headers=HX)
    assert rest.text.count('class="entry') == 6
    assert "<title>" not in rest.text
    assert "revealed" not in rest.text
    assert "Бонус" in rest.text  # the welcome bonus is the oldest line
    no_js = await web.get(f"/cabinet/history?before={more.group(1)}")
    assert no_js.text.startswith("<!doctype html>")
    assert no_js.text.count('class="entry') == 6
    bad = await web.get("/cabinet/history?before=abc")
    assert bad.status_code == 400
    assert "<html" in bad.text


async def test_purchases_are_charted_by_month_and_category(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await buy(
        core,
        member,
        "R1",
        [
            {"sku": "1", "name": "Вино", "category": "wine", "quantity": 1, "price": 90000, "amount": 90000},
            {"sku": "2", "name": "Хлеб", "category": "bakery", "quantity": 2, "price": 5000, "amount": 10000},
        ],
    )
    await sign_in(web, core)
    page = (await web.get("/cabinet/purchases")).text
    assert "Всего за 12 месяцев: 1\xa0000\xa0₽ в 1 покупках" in page
    assert page.count('class="chart"') == 2
    assert ">Вино<" in page
    assert ">Выпечка<" in page
    assert "900 ₽" in page
    assert ">ноя 26<" in page


async def test_english_members_get_english(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core, language="en")
    await sign_in(web, core)
    page = (await web.get("/cabinet/card")).text
    assert '<html lang="en">' in page
    assert "My card" in page
    assert "Add to Apple Wallet" in page


async def test_pwa_files(web: httpx.AsyncClient) -> None:
    manifest = await web.get("/cabinet/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["start_url"] == "/cabinet/card"
    assert body["display"] == "standalone"
    assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512"}
    worker = await web.get("/cabinet/sw.js")
    assert worker.status_code == 200
    assert "javascript" in worker.headers["content-type"]
    assert "cabinet-pages" in worker.text
    for asset in ("/static/cabinet.css", "/static/cabinet.js", "/static/htmx.min.js", "/static/icons/icon-192.png"):
        assert (await web.get(asset)).status_code == 200, asset


async def test_offers_show_the_members_personal_offer_for_you(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    assert "Для вас" not in (await web.get("/cabinet/offers")).text
    await give_offer(core, member.id)
    page = (await web.get("/cabinet/offers")).text
    assert '<h2 id="for-you">Для вас</h2>' in page
    assert "×3 баллов на категорию «coffee» до 6 декабря" in page


async def test_history_says_at_which_store_and_partner(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await make_coalition(core)
    await buy(core, member, "B1", [{"sku": "1", "quantity": 1, "price": 10000, "amount": 10000}], store=BANK)
    await buy(core, member, "O1", [{"sku": "1", "quantity": 1, "price": 10000, "amount": 10000}], store=OWN)
    await sign_in(web, core)
    page = (await web.get("/cabinet/history")).text
    assert f'<small class="where">Store {BANK}, партнёр Bank</small>' in page
    assert f'<small class="where">Store {OWN}</small>' in page
