"""Outbound webhooks end to end: subscribed through the staff API, made from real business events,
sent by the worker over a real socket to a receiver on 127.0.0.1 that checks every signature with
the `standardwebhooks` package (an independent implementation) and drops repeats by webhook-id."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import select
from standardwebhooks import Webhook

from notifications.campaigns.expansion import expand_campaign
from notifications.webhooks import WebhookSender
from notifications.worker import Worker
from shared import jobs
from shared.clock import FixedClock
from shared.config import Settings, WebhookSettings
from shared.core import Core
from shared.db.models.webhooks import WebhookDelivery, WebhookEndpoint
from shared.members import get_member, set_consent
from shared.webhooks import EVENTS
from tests.conftest import app_client
from tests.integration.marketing.test_campaigns import campaign, segment
from tests.integration.notifications.test_flow import channels

pytestmark = pytest.mark.e2e


class Receiver:
    """An integrator's endpoint: verifies each request, answers 500 to the first `fail_first`
    attempts of each webhook-id, and keeps what it accepted once per id."""

    def __init__(self) -> None:
        self.secret = ""
        self.fail_first = 2
        self.attempts: Counter[str] = Counter()
        self.unique: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.port = 0
        self.slow_seconds = 0.0

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return web.Response(status=400)
        webhook_id = request.headers["webhook-id"]
        self.attempts[webhook_id] += 1
        if self.attempts[webhook_id] <= self.fail_first:
            return web.Response(status=500)
        self.unique.setdefault(webhook_id, payload)  # a repeat is acknowledged and dropped
        return web.Response(status=204)

    async def gone(self, request: web.Request) -> web.Response:
        return web.Response(status=410)

    async def down(self, request: web.Request) -> web.Response:
        return web.Response(status=503)

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.slow_seconds)
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.hook)
    app.router.add_post("/gone", found.gone)
    app.router.add_post("/down", found.down)
    app.router.add_post("/slow", found.slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest.fixture
async def hooks_core(core: Core, settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    """The test's core (tables emptied) with the local receiver allowed over http."""
    local = settings.model_copy(
        update={"webhooks": WebhookSettings(allow_hosts="127.0.0.1", request_timeout=0.5, first_retry_seconds=5)}
    )
    async with Core(local, clock) as hooked:
        yield hooked


@pytest.fixture
async def sender(hooks_core: Core) -> AsyncIterator[WebhookSender]:
    found = WebhookSender(hooks_core)
    try:
        yield found
    finally:
        await found.close()


async def staff_client(core: Core) -> Any:
    from shared.apikeys import create_api_key
    from webapp.app import create_app

    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "crm", scope="staff")
    return app_client(create_app(core.settings, core=core), Authorization=f"Bearer {key}")


async def run_worker(worker: Worker, clock: FixedClock, rounds: int, step: float = 20) -> None:
    for _ in range(rounds):
        await worker.run_once()
        clock.advance(seconds=step)


async def make_every_event(core: Core, api: httpx.AsyncClient) -> None:
    """One of each subscribable event, each from the code path that makes it in production."""
    member = await api.post("/api/v1/members", json={"phone": "+79123456789", "consents": {"sms": True}})
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    line = {"sku": "1", "name": "Wine", "category": "food", "quantity": 1, "price": 3_100_000, "amount": 3_100_000}
    receipt = {"store_id": "msk-001", "receipt_id": "A-1", "member": {"member_id": member_id}, "lines": [line]}
    bought = await api.post("/api/v1/purchases", json=receipt)  # accrual, and the Gold tier crossed
    assert bought.status_code == 201, bought.text
    refund = await api.post("/api/v1/purchases/msk-001/A-1/refunds", json={"refund_id": "R-1", "amount": 100_000})
    assert refund.status_code == 201, refund.text
    async with core.transaction() as session:
        found = await get_member(session, uuid.UUID(member_id))
        await set_consent(session, core.clock, found, "email", True, source="test", method="form")
    # the welcome bonus burns in 180 days: the notice comes a few days before
    assert await jobs.notify_expiring(core, core.rules, core.clock.now() + timedelta(days=178)) == 1
    await expand_campaign(core, await campaign(core, await segment(core)))


async def test_every_event_arrives_signed_and_once_through_failures_and_a_replay(
    hooks_core: Core, clock: FixedClock, receiver: Receiver, sender: WebhookSender
) -> None:
    core = hooks_core
    async with await staff_client(core) as api:
        created = await api.post(
            "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook", "events": list(EVENTS)}
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        assert receiver.secret.startswith("whsec_")
        hook_id = created.json()["id"]
        await make_every_event(core, api)

        worker = Worker(core, channels(), webhooks=sender)  # type: ignore[arg-type]
        await run_worker(worker, clock, rounds=6)

        page = (await api.get(f"/api/v1/webhooks/{hook_id}/deliveries", params={"limit": 100})).json()
        assert page["total"] == len(EVENTS)
        assert {d["status"] for d in page["items"]} == {"delivered"}
        assert {d["attempts"] for d in page["items"]} == {3}  # 500, 500, then accepted
        assert receiver.bad_signatures == 0
        assert set(receiver.attempts.values()) == {3}
        assert sorted(p["type"] for p in receiver.unique.values()) == sorted(EVENTS)

        # a replay is a new attempt under the same webhook-id: the receiver drops it as a repeat
        first = page["items"][0]
        replayed = await api.post(f"/api/v1/webhooks/{hook_id}/deliveries/{first['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        await run_worker(worker, clock, rounds=1)
        assert receiver.attempts[first["id"]] == 4
        assert len(receiver.unique) == len(EVENTS)

        # a second round of the same outbox events (a worker crash before commit) plans nothing new
        await run_worker(worker, clock, rounds=2)
        assert (await api.get(f"/api/v1/webhooks/{hook_id}/deliveries")).json()["total"] == len(EVENTS)

    by_type = {p["type"]: p["data"] for p in receiver.unique.values()}
    assert by_type["purchase.confirmed"]["receipt_id"] == "A-1"
    assert by_type["purchase.confirmed"]["points_accrued"] > 0
    assert by_type["purchase.confirmed"]["partner"] is None  # the program's own store
    assert by_type["tier.changed"]["to"] == "gold"
    assert by_type["purchase.refunded"]["refund_id"] == "R-1"
    assert by_type["member.updated"]["changed"] == ["consents.email"]
    assert by_type["campaign.finished"]["campaign_id"] > 0
    assert "phone" not in json.dumps(by_type)


async def test_gone_disables_slow_is_bounded_and_down_gives_up_after_three_days(
    hooks_core: Core, clock: FixedClock, receiver: Receiver, sender: WebhookSender
) -> None:
    core = hooks_core
    receiver.slow_seconds = 3
    async with await staff_client(core) as api:
        ids = {}
        for path in ("gone", "down", "slow"):
            answer = await api.post(
                "/api/v1/webhooks",
                json={"url": f"http://127.0.0.1:{receiver.port}/{path}", "events": ["member.registered"]},
            )
            assert answer.status_code == 201, answer.text
            ids[path] = answer.json()["id"]
        assert (await api.post("/api/v1/members", json={"phone": "+79123456780"})).status_code == 201
        worker = Worker(core, channels(), webhooks=sender)  # type: ignore[arg-type]
        started = asyncio.get_running_loop().time()
        await worker.run_once()
        assert asyncio.get_running_loop().time() - started < 2.5  # the slow receiver did not hold the worker
        async with core.reading() as session:
            rows = {d.endpoint_id: d for d in (await session.execute(select(WebhookDelivery))).scalars()}
            gone = await session.get(WebhookEndpoint, ids["gone"])
        assert gone is not None
        assert not gone.active
        assert rows[ids["gone"]].status == "cancelled"
        assert rows[ids["down"]].status == "pending"
        assert rows[ids["down"]].last_status_code == 503
        assert rows[ids["slow"]].status == "pending"
        assert "Timeout" in (rows[ids["slow"]].last_error or "")
        assert (await api.delete(f"/api/v1/webhooks/{ids['slow']}")).status_code == 204
        assert (await api.get(f"/api/v1/webhooks/{ids['slow']}/deliveries")).status_code == 404
        for _ in range(20):  # six-hour steps: past the three days
            clock.advance(hours=6)
            await worker.run_once()
    async with core.reading() as session:
        down = await session.get(WebhookDelivery, rows[ids["down"]].id)
    assert down is not None
    assert down.status == "failed"
    assert down.attempts > 10  # backed off, not given up early
    assert down.next_attempt_at is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "http://169.254.169.254/latest/meta-data/", "events": ["member.registered"]}, 422),
        ({"url": "http://localhost/hook", "events": ["member.registered"]}, 422),
        ({"url": "https://10.0.0.1/hook", "events": ["member.registered"]}, 422),
        ({"url": "https://localhost/hook", "events": ["member.registered"]}, 422),  # a name for loopback
        ({"url": "https://[::ffff:169.254.169.254]/", "events": ["member.registered"]}, 422),
        ({"url": "https://user@hooks.example/", "events": ["member.registered"]}, 422),
        ({"url": "https://hooks.example/" + "a" * 2000, "events": ["member.registered"]}, 400),
        ({"url": "https://hooks.example/x", "events": ["member.deleted"]}, 422),
        ({"url": "https://hooks.example/x", "events": []}, 400),
        ({"url": "https://hooks.example/x", "events": [*EVENTS, "member.registered"]}, 400),
        ({"url": "https://hooks.example/x", "events": ["x" * 41]}, 400),
        ({"url": "https://hooks.example/x", "events": ["member.registered"], "secret": "mine"}, 400),
        ({"url": 5, "events": ["member.registered"]}, 400),
    ],
)
async def test_hostile_or_unbounded_subscriptions_are_4xx(core: Core, body: dict[str, Any], status: int) -> None:
    async with await staff_client(core) as api:
        answer = await api.post("/api/v1/webhooks", json=body)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert (await api.get("/api/v1/webhooks")).json()["items"] == []


async def test_only_staff_keys_and_bounded_pages(core: Core) -> None:
    from shared.apikeys import create_api_key
    from webapp.app import create_app

    async with core.transaction() as session:
        till_key = await create_api_key(session, core.clock, "till", scope="pos")
    async with app_client(create_app(core.settings, core=core), Authorization=f"Bearer {till_key}") as till:
        body = {"url": "https://crm.example/hooks", "events": ["tier.changed"]}
        assert (await till.post("/api/v1/webhooks", json=body)).status_code == 403
        assert (await till.get("/api/v1/webhooks")).status_code == 403
    async with await staff_client(core) as api:
        created = await api.post(
            "/api/v1/webhooks", json={"url": "https://crm.example/hooks", "events": ["tier.changed"]}
        )
        assert created.status_code == 201, created.text
        hook = created.json()["id"]
        assert "secret" not in (await api.get("/api/v1/webhooks")).json()["items"][0]
        for query in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "lost"}, {"limit": "x"}):
            assert (await api.get(f"/api/v1/webhooks/{hook}/deliveries", params=query)).status_code == 400, query
        assert (await api.get(f"/api/v1/webhooks/{hook}/deliveries")).json() == {
            "items": [],
            "total": 0,
            "limit": 50,
            "offset": 0,
        }
        assert (await api.get("/api/v1/webhooks/999/deliveries")).status_code == 404
        assert (await api.post(f"/api/v1/webhooks/{hook}/deliveries/msg_zz/replay")).status_code == 404
        assert (await api.delete("/api/v1/webhooks/999")).status_code == 404
        assert (await api.delete(f"/api/v1/webhooks/{hook}")).status_code == 204
        assert (await api.get("/api/v1/webhooks")).json()["items"] == []
