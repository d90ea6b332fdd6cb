"""Signing in by phone and code, joining with consents, the Telegram Mini App, signing out."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from bot.init_data import sign_init_data
from shared.config import Settings, TelegramSettings
from shared.core import Core
from shared.db.models import Consent, Member
from shared.db.models.login_codes import LoginCode
from tests.conftest import app_client
from tests.integration.cabinet.conftest import BASE, HX, PHONE, csrf, last_code, later, make_member, sign_in


async def test_a_newcomer_lands_on_the_login_page(web: httpx.AsyncClient) -> None:
    first = await web.get("/")
    assert first.status_code == 303
    assert first.headers["location"] == "/cabinet/card"
    page = await web.get("/cabinet/card", follow_redirects=True)
    assert str(page.url).endswith("/cabinet/login")
    assert '<html lang="ru">' in page.text
    assert "Номер телефона" in page.text
    assert 'autocomplete="tel"' in page.text
    english = await web.get("/cabinet/login?lang=en")
    assert '<html lang="en">' in english.text
    assert "Phone number" in english.text
    token = csrf_of_page(english.text)
    answer = await web.post("/cabinet/login/code", data={"phone": "nonsense", "_csrf_token": token})
    assert "That does not look like a phone number" in answer.text  # the choice is remembered
    assert (await web.get("/card")).headers["location"] == "/cabinet/card"  # the link in messages


async def test_member_signs_in_with_the_code_and_sees_the_card(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    answer = await sign_in(web, core)
    cookie = answer.headers["set-cookie"]
    assert "loyalty_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    card = await web.get("/cabinet/card")
    assert card.status_code == 200
    assert member.card_number in card.text
    assert "<svg" in card.text
    assert "100" in card.text
    async with core.reading() as session:
        row = (await session.execute(select(LoginCode))).scalar_one()
    assert row.used_at is not None
    assert await last_code(core) not in row.code_hash


async def test_the_code_step_answers_htmx_with_a_fragment_and_a_redirect(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    token = await csrf(web)
    sent = await web.post("/cabinet/login/code", data={"phone": "8 (916) 123-45-67", "_csrf_token": token}, headers=HX)
    assert sent.status_code == 200
    assert "<html" not in sent.text
    assert 'name="code"' in sent.text
    assert "+79161234567" in sent.text
    done = await web.post(
        "/cabinet/login/verify", headers=HX, data={"phone": PHONE, "code": await last_code(core), "_csrf_token": token}
    )
    assert done.status_code == 200
    assert done.headers["hx-redirect"] == "/cabinet/card"
    assert "loyalty_session=" in done.headers["set-cookie"]


async def test_a_new_phone_joins_with_its_consents(web: httpx.AsyncClient, core: Core) -> None:
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    page = await web.post(
        "/cabinet/login/verify", data={"phone": PHONE, "code": await last_code(core), "_csrf_token": token}
    )
    assert page.status_code == 200
    assert "Регистрация" in page.text
    assert 'name="consent_sms"' in page.text
    refused = await web.post("/cabinet/register", data={"first_name": "Анна", "_csrf_token": token})
    assert refused.status_code == 422
    assert "Нужно принять правила" in refused.text
    joined = await web.post(
        "/cabinet/register", data={"first_name": "Анна", "consent_sms": "yes", "rules": "yes", "_csrf_token": token}
    )
    assert joined.status_code == 303
    assert joined.headers["location"] == "/cabinet/card"
    async with core.reading() as session:
        member = (await session.execute(select(Member))).scalar_one()
        consents = {c.channel: c for c in (await session.execute(select(Consent))).scalars()}
    assert member.phone == PHONE
    assert member.first_name == "Анна"
    assert member.source == "web"
    assert consents["sms"].granted
    assert not consents["email"].granted
    assert consents["sms"].method == "web-checkbox"
    assert consents["sms"].changed_at == core.clock.now()
    assert (await web.get("/cabinet/balance")).status_code == 200


async def test_joining_needs_a_proven_phone(web: httpx.AsyncClient, core: Core) -> None:
    token = await csrf(web)
    answer = await web.post("/cabinet/register", data={"rules": "yes", "_csrf_token": token})
    assert answer.status_code == 422
    async with core.reading() as session:
        assert (await session.execute(select(Member))).first() is None


async def test_a_bad_phone_gets_a_polite_answer(web: httpx.AsyncClient) -> None:
    token = await csrf(web)
    for headers in ({}, HX):
        answer = await web.post("/cabinet/login/code", data={"phone": "hello", "_csrf_token": token}, headers=headers)
        assert answer.status_code == 422
        assert "Не получилось прочитать номер" in answer.text


async def test_logout_ends_the_session(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    await sign_in(web, core)
    page = await web.get("/cabinet/card")
    out = await web.post("/cabinet/logout", data={"_csrf_token": csrf_of_page(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/cabinet/login"
    assert 'loyalty_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert (await web.get("/cabinet/card")).status_code == 303


async def test_a_copy_of_the_cookie_dies_with_the_sign_out_and_a_new_sign_in_works(
    web: httpx.AsyncClient, core: Core
) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    copied = web.cookies.get("loyalty_session")
    page = await web.get("/cabinet/card")
    await web.post("/cabinet/logout", data={"_csrf_token": csrf_of_page(page.text)})
    web.cookies.set("loyalty_session", copied, domain="127.0.0.1")  # e.g. a stolen or synced copy
    replayed = await web.get("/cabinet/card")
    assert replayed.status_code == 303
    assert member.card_number not in replayed.text
    later(core, seconds=61)  # past the resend pause
    await sign_in(web, core)
    assert member.card_number in (await web.get("/cabinet/card")).text


def csrf_of_page(html: str) -> str:
    from tests.integration.cabinet.conftest import csrf_of

    return csrf_of(html)


async def test_telegram_mini_app_signs_in_the_linked_member(core: Core, settings: Settings) -> None:
    from webapp.app import create_app

    bot_token = "123456:ABC"
    with_bot = settings.model_copy(update={"telegram": TelegramSettings(token=bot_token)})
    member = await make_member(core, telegram_user_id=777)
    user = json.dumps({"id": 777, "first_name": "Anna"})
    now = int(core.clock.now().timestamp())
    async with app_client(create_app(with_bot, core=core)) as web:
        web.base_url = httpx.URL(BASE)
        page = await web.get("/cabinet/telegram")
        assert page.status_code == 200
        assert 'id="tg-login"' in page.text
        token = csrf_of_page(page.text)
        good = sign_init_data({"auth_date": str(now), "user": user}, bot_token)
        forged = sign_init_data({"auth_date": str(now), "user": user}, "999:OTHER")
        stranger = sign_init_data({"auth_date": str(now), "user": json.dumps({"id": 1})}, bot_token)
        old = sign_init_data({"auth_date": str(now - 7200), "user": user}, bot_token)
        for data, status in ((forged, 403), (old, 403), ("", 403), (stranger, 404)):
            answer = await web.post("/cabinet/telegram", data={"init_data": data, "_csrf_token": token})
            assert answer.status_code == status
            assert "loyalty_session=" not in answer.headers.get("set-cookie", "")
        answer = await web.post("/cabinet/telegram", data={"init_data": good, "_csrf_token": token})
        assert answer.status_code == 303
        card = await web.get("/cabinet/card")
        assert member.card_number in card.text


async def test_codes_expire_after_five_minutes(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    code = await last_code(core)
    later(core, seconds=301)
    answer = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": code, "_csrf_token": token})
    assert answer.status_code == 422
    assert "Код больше не действует" in answer.text
