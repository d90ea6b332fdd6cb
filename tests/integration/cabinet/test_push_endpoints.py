"""The cabinet's push opt-in takes only real push services' endpoints, and never moves one to
another member."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from shared.core import Core
from shared.db.models.messages import PushSubscription
from tests.integration.cabinet.conftest import OTHER, make_member, sign_in

KEYS = {"p256dh": "B" * 87, "auth": "a" * 22}
FCM = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH"


async def signed_in_headers(web: httpx.AsyncClient, core: Core, phone: str | None = None) -> dict[str, str]:
    await sign_in(web, core, phone) if phone else await sign_in(web, core)
    header = re.search(r'"X-CSRFToken": "([^"]+)"', (await web.get("/cabinet/profile")).text)
    assert header
    return {"X-CSRFToken": header.group(1)}


async def stored(core: Core) -> list[tuple[object, str, str]]:
    async with core.reading() as session:
        rows = (await session.execute(select(PushSubscription).order_by(PushSubscription.id))).scalars()
        return [(row.member_id, row.endpoint, row.auth) for row in rows]


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://fcm.googleapis.com/fcm/send/abc", "https"),
        ("https://93.184.216.34/push/abc", "IP address"),
        ("http://127.0.0.1:8000/cabinet/profile", "https"),
        ("https://127.0.0.1:8443/x", "IP address"),
        ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "IP address"),
        ("https://[::ffff:169.254.169.254]/latest/meta-data/", "IP address"),
        ("https://push.example/abc", "not a known push service"),
        ("https://metadata.google.internal/computeMetadata/v1/", "not a known push service"),
        ("https://localhost/x", "not a known push service"),
    ],
)
async def test_endpoints_that_are_not_push_services_are_refused(
    web: httpx.AsyncClient, core: Core, endpoint: str, message: str
) -> None:
    await make_member(core)
    headers = await signed_in_headers(web, core)
    answer = await web.post(
        "/cabinet/push/subscription.json", headers=headers, json={"endpoint": endpoint, "keys": KEYS}
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "endpoint"
    assert message in error["message"]
    assert await stored(core) == []


async def test_another_members_endpoint_stays_theirs(web: httpx.AsyncClient, core: Core) -> None:
    anna = await make_member(core)
    await make_member(core, OTHER)
    headers = await signed_in_headers(web, core)
    first = await web.post("/cabinet/push/subscription.json", headers=headers, json={"endpoint": FCM, "keys": KEYS})
    assert first.status_code == 201
    headers = await signed_in_headers(web, core, OTHER)
    taken = await web.post(
        "/cabinet/push/subscription.json",
        headers=headers,
        json={"endpoint": FCM, "keys": {"p256dh": "C" * 87, "auth": "b" * 22}},
    )
    assert taken.status_code == 409
    assert taken.json()["detail"] == "В этом браузере уведомления уже включены для другой карты."
    assert await stored(core) == [(anna.id, FCM, "a" * 22)]  # neither moved nor re-keyed


async def test_the_same_member_may_send_the_subscription_again(web: httpx.AsyncClient, core: Core) -> None:
    anna = await make_member(core)
    headers = await signed_in_headers(web, core)
    for auth in ("a" * 22, "z" * 22):
        answer = await web.post(
            "/cabinet/push/subscription.json", headers=headers, json={"endpoint": FCM, "keys": {**KEYS, "auth": auth}}
        )
        assert answer.status_code == 201
    assert await stored(core) == [(anna.id, FCM, "z" * 22)]
