"""Code brute force, limits, CSRF, expired and tampered sessions, another member's data."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import jwt
from sqlalchemy import select

from shared.config import Settings
from shared.core import Core
from shared.db.models.messages import PushSubscription
from tests.integration.cabinet.conftest import OTHER, PHONE, csrf, csrf_of, last_code, later, make_member, sign_in
from webapp.cabinet.session_cookie import session_cookie


async def test_five_wrong_guesses_burn_the_code(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    code = await last_code(core)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lefts = []
    for _ in range(4):
        answer = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": wrong, "_csrf_token": token})
        assert answer.status_code == 422
        lefts.append(answer.text.split("Осталось попыток: ")[1][0])
    assert lefts == ["4", "3", "2", "1"]
    fifth = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": wrong, "_csrf_token": token})
    assert "Код больше не действует" in fifth.text
    right = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": code, "_csrf_token": token})
    assert right.status_code == 422
    assert "loyalty_session=" not in right.headers.get("set-cookie", "")


async def test_resend_is_throttled_and_codes_are_limited_per_phone(web: httpx.AsyncClient, core: Core) -> None:
    token = await csrf(web)
    first = await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    assert first.status_code == 200
    again = await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    assert again.status_code == 429
    assert "Новый код можно запросить через" in again.text
    for _ in range(4):
        later(core, seconds=61)
        assert (await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})).status_code == 200
    later(core, seconds=61)
    sixth = await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    assert sixth.status_code == 429
    assert "Слишком много кодов" in sixth.text
    later(core, hours=1)
    assert (await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})).status_code == 200


async def test_only_the_newest_code_works(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    first = await last_code(core)
    later(core, seconds=61)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    second = await last_code(core)
    if first != second:
        stale = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": first, "_csrf_token": token})
        assert stale.status_code == 422
    fresh = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": second, "_csrf_token": token})
    assert fresh.status_code == 303


async def test_codes_are_limited_per_address(web: httpx.AsyncClient, core: Core, settings: Settings) -> None:
    token = await csrf(web)
    limit = settings.cabinet.codes_per_ip_hour
    for i in range(limit):
        phone = f"+7916555{i:04d}"
        assert (await web.post("/cabinet/login/code", data={"phone": phone, "_csrf_token": token})).status_code == 200
    blocked = await web.post("/cabinet/login/code", data={"phone": "+79169999999", "_csrf_token": token})
    assert blocked.status_code == 429


async def test_forms_without_the_csrf_token_are_refused(web: httpx.AsyncClient, core: Core) -> None:
    await make_member(core)
    await csrf(web)
    for data in ({"phone": PHONE}, {"phone": PHONE, "_csrf_token": "forged"}):
        answer = await web.post("/cabinet/login/code", data=data)
        assert answer.status_code == 403
        assert "Страница устарела" in answer.text
    await sign_in(web, core)
    answer = await web.post("/cabinet/profile", data={"first_name": "Mallory"})
    assert answer.status_code == 403
    subscribe = await web.post("/cabinet/push/subscription.json", json={"endpoint": "https://push.example/1"})
    assert subscribe.status_code == 403
    async with core.reading() as session:
        assert (await session.execute(select(PushSubscription))).first() is None


async def test_machine_endpoints_need_no_csrf(web: httpx.AsyncClient) -> None:
    answer = await web.post("/api/v1/members", json={"phone": PHONE})
    assert answer.status_code == 401  # the API key decides, not a CSRF cookie


async def test_expired_session_goes_back_to_login(web: httpx.AsyncClient, core: Core, settings: Settings) -> None:
    await make_member(core)
    await sign_in(web, core)
    assert (await web.get("/cabinet/card")).status_code == 200
    later(core, minutes=settings.cabinet.session_minutes + 1)
    page = await web.get("/cabinet/card")
    assert page.status_code == 303
    assert page.headers["location"] == "/cabinet/login"
    fragment = await web.get("/cabinet/history", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/cabinet/login"


async def test_tampered_sessions_are_refused(web: httpx.AsyncClient, core: Core, settings: Settings) -> None:
    victim = await make_member(core, phone=OTHER)
    now = core.clock.now()
    good = session_cookie(settings, victim.id, now).value
    header, _, signature = good.split(".")
    forged_claims = jwt.encode(
        {
            "sub": str(victim.id),
            "aud": "cabinet",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(days=1)).timestamp()),
        },
        "guessed-secret-" + "g" * 32,
        algorithm="HS256",
    )
    unsigned = jwt.encode({"sub": str(victim.id), "aud": "cabinet", "iat": 1, "exp": 2**31}, None, algorithm="none")
    for token in (forged_claims, unsigned, good[:-2] + "xx", f"{header}..{signature}", "garbage"):
        web.cookies.set("loyalty_session", token, domain="127.0.0.1")
        answer = await web.get("/cabinet/card")
        assert answer.status_code == 303
        assert victim.card_number not in answer.text
    web.cookies.set("loyalty_session", good, domain="127.0.0.1")
    assert victim.card_number in (await web.get("/cabinet/card")).text


async def test_a_session_for_a_deleted_or_unknown_member_is_refused(
    web: httpx.AsyncClient, core: Core, settings: Settings
) -> None:
    web.cookies.set(
        "loyalty_session", session_cookie(settings, uuid.uuid4(), core.clock.now()).value, domain="127.0.0.1"
    )
    assert (await web.get("/cabinet/balance")).status_code == 303


async def test_sessions_rotate(web: httpx.AsyncClient, core: Core, settings: Settings) -> None:
    await make_member(core)
    await sign_in(web, core)
    fresh = await web.get("/cabinet/card")
    assert "loyalty_session=" not in fresh.headers.get("set-cookie", "")
    later(core, minutes=settings.cabinet.rotate_minutes + 1)
    rotated = await web.get("/cabinet/card")
    assert rotated.status_code == 200
    assert "loyalty_session=" in rotated.headers["set-cookie"]


async def test_no_page_shows_another_members_data(web: httpx.AsyncClient, core: Core, settings: Settings) -> None:
    other = await make_member(core, phone=OTHER, first_name="Борис")
    me = await make_member(core, first_name="Анна")
    await sign_in(web, core)
    for path in (
        f"/cabinet/card?member_id={other.id}",
        f"/cabinet/balance?member={other.card_number}",
        f"/cabinet/history?member_id={other.id}",
        f"/cabinet/profile?id={other.id}",
        f"/cabinet/purchases?member_id={other.id}",
    ):
        page = await web.get(path)
        assert page.status_code == 200
        assert other.card_number not in page.text
        assert "Борис" not in page.text
    assert me.card_number in (await web.get("/cabinet/card")).text
    # an e-mail link made for someone else confirms nothing here
    link = jwt.encode(
        {"sub": str(other.id), "email": "x@example.com", "exp": 2**31}, b"whatever-" + b"w" * 32, algorithm="HS256"
    )
    assert (await web.get(f"/cabinet/email/confirm?token={link}")).status_code == 400
    token = csrf_of((await web.get("/cabinet/profile")).text)
    assert (
        await web.post("/cabinet/profile", data={"first_name": "Eve", "member_id": str(other.id), "_csrf_token": token})
    ).status_code == 200
    async with core.reading() as session:
        from shared.db.models import Member

        assert (await session.get(Member, other.id)).first_name == "Борис"  # type: ignore[union-attr]
        assert (await session.get(Member, me.id)).first_name == "Eve"  # type: ignore[union-attr]
