"""Profile: name and language, birth date once, e-mail confirmation link, consents, web push opt-in."""

from __future__ import annotations

import re
from datetime import date

import httpx
from sqlalchemy import select

from notifications.push_subscriptions import subscriptions_of
from shared.core import Core
from shared.db.models import Member, OutboxEvent
from shared.members import consents_of
from tests.integration.cabinet.conftest import HX, csrf_of, later, make_member, sign_in


async def member_row(core: Core, member_id: object) -> Member:
    async with core.reading() as session:
        row = await session.get(Member, member_id)
    assert row is not None
    return row


async def test_name_language_and_birth_date_once(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    saved = await web.post(
        "/cabinet/profile",
        headers=HX,
        data={
            "first_name": " Анна ",
            "last_name": "Иванова",
            "birth_date": "1990-05-17",
            "language": "en",
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 200
    assert "Saved." in saved.text
    assert "<html" not in saved.text
    row = await member_row(core, member.id)
    assert (row.first_name, row.last_name, row.language, row.birth_date, row.birth_mmdd) == (
        "Анна",
        "Иванова",
        "en",
        date(1990, 5, 17),
        517,
    )
    again = await web.post(
        "/cabinet/profile",
        data={"first_name": "Анна", "birth_date": "2000-01-01", "language": "ru", "_csrf_token": token},
    )
    assert again.status_code == 200
    assert 'value="17.05.1990" readonly' in again.text
    assert (await member_row(core, member.id)).birth_date == date(1990, 5, 17)


async def test_a_birth_date_in_the_future_is_refused(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    for value in ("2099-01-01", "17.05.1990", "1800-01-01"):
        answer = await web.post("/cabinet/profile", data={"birth_date": value, "first_name": "X", "_csrf_token": token})
        assert answer.status_code == 422
        assert "Укажите настоящую дату рождения" in answer.text
    row = await member_row(core, member.id)
    assert row.birth_date is None
    assert row.first_name is None


async def test_email_is_confirmed_by_the_link_it_receives(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    bad = await web.post("/cabinet/profile/email", data={"email": "not-an-address", "_csrf_token": token})
    assert bad.status_code == 422
    sent = await web.post("/cabinet/profile/email", data={"email": "Anna@Example.com", "_csrf_token": token})
    assert sent.status_code == 200
    assert "anna@example.com" in sent.text
    assert "не подтверждён" in sent.text
    async with core.reading() as session:
        event = (
            await session.execute(select(OutboxEvent).where(OutboxEvent.kind == "email_confirmation"))
        ).scalar_one()
    assert event.member_id == member.id
    assert event.payload["email"] == "anna@example.com"
    link = event.payload["link"]
    assert link.startswith("http://127.0.0.1:8000/cabinet/email/confirm?token=")
    path = link.removeprefix("http://127.0.0.1:8000")
    tampered = await web.get(path[:-3] + "abc")
    assert tampered.status_code == 400
    assert (await member_row(core, member.id)).email_confirmed_at is None
    confirmed = await web.get(path)
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/cabinet/profile?email_confirmed=1"
    row = await member_row(core, member.id)
    assert row.email == "anna@example.com"
    assert row.email_confirmed_at == core.clock.now()
    assert "E-mail подтверждён" in (await web.get(confirmed.headers["location"])).text


async def test_an_old_confirmation_link_does_nothing(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    token = csrf_of((await web.get("/cabinet/profile")).text)
    await web.post("/cabinet/profile/email", data={"email": "a@example.com", "_csrf_token": token})
    async with core.reading() as session:
        link = (
            await session.execute(select(OutboxEvent.payload).where(OutboxEvent.kind == "email_confirmation"))
        ).scalar_one()["link"]
    later(core, hours=25)
    await sign_in(web, core)
    answer = await web.get(link.removeprefix("http://127.0.0.1:8000"))
    assert answer.status_code == 400
    assert (await member_row(core, member.id)).email_confirmed_at is None


async def test_consents_show_when_they_were_given(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    page = (await web.get("/cabinet/profile")).text
    assert page.count("не давалось") == 5
    token = csrf_of(page)
    saved = await web.post(
        "/cabinet/profile/consents", data={"consent_sms": "yes", "consent_email": "yes", "_csrf_token": token}
    )
    assert "дано 22.11.2026" in saved.text
    assert "отозвано 22.11.2026" in saved.text
    async with core.reading() as session:
        consents = await consents_of(session, member.id)
    assert consents["sms"].granted
    assert consents["email"].granted
    assert not consents["viber"].granted
    assert consents["sms"].source == "web:cabinet"
    assert consents["sms"].method == "web-checkbox"


async def test_push_subscription_is_stored_for_the_signed_in_member(web: httpx.AsyncClient, core: Core) -> None:
    member = await make_member(core)
    await sign_in(web, core)
    page = (await web.get("/cabinet/profile")).text
    header = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert header
    key = await web.get("/cabinet/push/key.json")
    assert key.status_code == 200
    assert len(key.json()["key"]) > 80
    csrf = {"X-CSRFToken": header.group(1)}
    bad = await web.post("/cabinet/push/subscription.json", headers=csrf, json={"endpoint": "ftp://x"})
    assert bad.status_code == 422
    junk = await web.post(
        "/cabinet/push/subscription.json", headers={**csrf, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert junk.status_code == 400
    subscription = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "keys": {"p256dh": "B" * 87, "auth": "a" * 22},
    }
    done = await web.post("/cabinet/push/subscription.json", headers=csrf, json=subscription)
    assert done.status_code == 201
    async with core.reading() as session:
        (stored,) = await subscriptions_of(session, member.id)
        consents = await consents_of(session, member.id)
    assert stored.endpoint == "https://fcm.googleapis.com/fcm/send/abc"
    assert consents["push"].granted


async def test_push_needs_a_session(web: httpx.AsyncClient) -> None:
    page = (await web.get("/cabinet/login")).text
    header = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert header
    answer = await web.post(
        "/cabinet/push/subscription.json",
        headers={"X-CSRFToken": header.group(1)},
        json={"endpoint": "https://push.example/abc"},
    )
    assert answer.status_code == 401
