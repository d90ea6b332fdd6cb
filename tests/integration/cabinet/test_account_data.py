"""The shopper's own data in the cabinet: "download my data" (JSON) and "delete my account" confirmed
by a one-time code sent like the sign-in code."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from shared.core import Core
from shared.db.models import Member, OutboxEvent
from tests.integration.cabinet.conftest import HX, PHONE, csrf, csrf_of, later, make_member, sign_in


async def newest_code(core: Core, phone: str = PHONE) -> str:
    async with core.reading() as session:
        events = (
            (
                await session.execute(
                    select(OutboxEvent).where(OutboxEvent.kind == "login_code").order_by(OutboxEvent.id.desc())
                )
            )
            .scalars()
            .all()
        )
    codes = [e.payload["code"] for e in events if e.payload.get("phone") == phone]
    assert codes, "no code was sent"
    return str(codes[0])


async def member_row(core: Core, member_id: object) -> Member:
    async with core.reading() as session:
        row = await session.get(Member, member_id)
    assert row is not None
    return row


async def test_download_my_data_is_a_json_file_of_everything(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core, first_name="Анна", email="anna@example.com", consents={"sms": True})
    await sign_in(web, core)
    profile = await web.get("/cabinet/profile")
    assert "/cabinet/profile/data.json" in profile.text
    assert "Скачать мои данные" in profile.text
    download = await web.get("/cabinet/profile/data.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    data = json.loads(download.text)
    assert (data["member"]["phone"], data["member"]["first_name"]) == (PHONE, "Анна")
    assert data["card"]["card_number"] == member.card_number
    assert [c["channel"] for c in data["consents"]] == ["sms"]
    assert data["login_codes"][0]["used_at"]  # the code they signed in with
    web.cookies.delete("loyalty_session")
    assert (await web.get("/cabinet/profile/data.json")).status_code == 401


async def test_delete_my_account_with_a_code_then_join_again_from_zero(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core, first_name="Анна", telegram_user_id=4242)
    await sign_in(web, core)
    session_cookie = web.cookies.get("loyalty_session")
    token = csrf_of((await web.get("/cabinet/profile")).text)
    too_soon = await web.post("/cabinet/profile/delete/code", data={"_csrf_token": token})
    assert too_soon.status_code == 429  # the sign-in code went out a moment ago
    later(core, seconds=61)
    asked = await web.post("/cabinet/profile/delete/code", headers=HX, data={"_csrf_token": token})
    assert asked.status_code == 200
    assert "Мы отправили код" in asked.text
    assert 'name="code"' in asked.text
    code = await newest_code(core)
    wrong = await web.post(
        "/cabinet/profile/delete", data={"code": "000000" if code != "000000" else "111111", "_csrf_token": token}
    )
    assert wrong.status_code == 422
    assert (await member_row(core, member.id)).phone == PHONE  # nothing happened
    done = await web.post("/cabinet/profile/delete", data={"code": code, "_csrf_token": token})
    assert done.status_code == 200
    assert "Аккаунт удалён" in done.text
    assert 'loyalty_session=""' in done.headers.get("set-cookie", "") or "Max-Age=0" in done.headers["set-cookie"]
    row = await member_row(core, member.id)
    assert row.phone.startswith("erased:")
    assert (row.first_name, row.telegram_user_id) == (None, None)

    web.cookies.set("loyalty_session", session_cookie)  # a copy of the old cookie no longer works
    old = await web.get("/cabinet/card")
    assert old.status_code == 303
    assert old.headers["location"] == "/cabinet/login"

    token = await csrf(web)  # the same phone joins again, as someone new
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    verified = await web.post(
        "/cabinet/login/verify", data={"phone": PHONE, "code": await newest_code(core), "_csrf_token": token}
    )
    assert verified.status_code == 200
    assert 'action="/cabinet/register"' in verified.text
    joined = await web.post("/cabinet/register", data={"rules": "yes", "_csrf_token": token})
    assert joined.status_code == 303
    async with core.reading() as session:
        fresh = (await session.execute(select(Member).where(Member.phone == PHONE))).scalar_one()
    assert fresh.id != member.id
    assert fresh.card_number != member.card_number
    assert fresh.available == core.rules.welcome.points


async def test_the_account_page_speaks_english_too(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core, language="en")
    await sign_in(web, core)
    page = await web.get("/cabinet/profile")
    assert "Download my data" in page.text
    assert "Delete my account" in page.text
