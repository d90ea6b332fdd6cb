"""Google Wallet: each balance change PATCHes the member's object; notifications only for accruals
and tier changes, and never more than three per pass per day."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from shared.privacy import erase_member
from shared.support import adjust_points
from tests.stubs.serving import free_port
from wallet.google_keys import ensure_dev_service_account
from wallet.live import WalletUpdater


class GoogleStub:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.patches: list[dict[str, Any]] = []
        self.tokens = 0
        self.classes: set[str] = set()

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        assert form["assertion"]
        self.tokens += 1
        return web.json_response({"access_token": "stub-token", "expires_in": 3600})

    async def patch(self, request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer stub-token"
        object_id = request.match_info["oid"]
        if object_id not in self.objects:
            return web.json_response({"error": {"code": 404}}, status=404)
        body = await request.json()
        self.patches.append(body)
        self.objects[object_id] |= body
        return web.json_response(self.objects[object_id])

    async def insert_class(self, request: web.Request) -> web.Response:
        body = await request.json()
        status = 409 if body["id"] in self.classes else 200
        self.classes.add(body["id"])
        return web.json_response(body, status=status)

    async def insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.objects[body["id"]] = body
        self.patches.append(body)
        return web.json_response(body)


@pytest.fixture
async def google(core: Core, settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[GoogleStub, Worker]]:
    """A Google Wallet API stand-in on a real socket, and a worker whose wallet listener talks to it."""
    stub = GoogleStub()
    app = web.Application()
    app.router.add_post("/token", stub.token)
    app.router.add_patch("/walletobjects/v1/loyaltyObject/{oid}", stub.patch)
    app.router.add_post("/walletobjects/v1/loyaltyObject", stub.insert)
    app.router.add_post("/walletobjects/v1/loyaltyClass", stub.insert_class)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    account_settings = settings.model_copy(update={"var_dir": tmp_path})
    account_file = ensure_dev_service_account(account_settings)
    account = json.loads(account_file.read_text())
    account["token_uri"] = f"http://127.0.0.1:{port}/token"
    account_file.write_text(json.dumps(account))
    core.settings = settings.model_copy(
        update={
            "wallet": settings.wallet.model_copy(
                update={"google_service_account_file": account_file, "google_api_url": f"http://127.0.0.1:{port}"}
            )
        }
    )
    updater = WalletUpdater()
    try:
        yield stub, Worker(core, {}, listeners=[updater])
    finally:
        await updater.close()
        await runner.cleanup()


async def test_balance_changes_patch_the_object_and_notify_at_most_three_times(
    core: Core, client: httpx.AsyncClient, google: tuple[GoogleStub, Worker]
) -> None:
    stub, worker = google
    await client.post("/api/v1/members", json={"phone": "+79123456789"})
    await worker.process_outbox()
    assert stub.patches[-1]["loyaltyPoints"]["balance"] == {"int": 100}
    assert "messages" not in stub.patches[-1]  # registration: a silent update
    for n in range(5):
        await client.post(
            "/api/v1/purchases",
            json={
                "store_id": "s",
                "receipt_id": str(n),
                "member": {"phone": "+79123456789"},
                "redeem": 10,
                "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
            },
        )
        await worker.process_outbox()
    accruals = stub.patches[1:]
    assert len(accruals) == 5
    assert [p["loyaltyPoints"]["balance"]["int"] for p in accruals] == [90, 80, 70, 60, 50]
    assert sum(1 for p in accruals if p.get("messages")) == 3  # Google's daily limit
    assert all(m["messageType"] == "TEXT_AND_NOTIFY" for p in accruals for m in p.get("messages", []))
    assert accruals[0]["messages"][0]["body"] == "Баланс: 90 баллов"  # the number and its noun agree
    core.clock.advance(days=1, minutes=1)  # type: ignore[attr-defined]
    await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": "next-day",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )
    await worker.process_outbox()
    assert stub.patches[-1].get("messages")  # a new day, a new allowance
    assert stub.tokens == 1  # the access token is reused
    assert len(stub.classes) == 1
    assert all(p["classId"] in stub.classes for p in stub.patches)


async def test_an_erased_members_object_is_expired_and_blanked_and_no_new_one_is_made(
    core: Core, client: httpx.AsyncClient, google: tuple[GoogleStub, Worker]
) -> None:
    stub, worker = google
    created = await client.post("/api/v1/members", json={"phone": "+79123456789", "first_name": "Anna"})
    member_id = uuid.UUID(created.json()["id"])
    await worker.process_outbox()
    (object_id,) = stub.objects
    assert stub.objects[object_id]["accountName"] == "Anna"
    async with core.transaction() as session:
        await erase_member(session, core.clock, member_id, actor="dpo@example.com", reason="request 17")
    async with core.transaction() as session:  # a late change to the anonymous account left behind
        await adjust_points(
            session, core.clock, core.rules, member_id, 5, "late", actor="a", request_id=uuid.uuid4().hex
        )
    await worker.process_outbox()
    assert list(stub.objects) == [object_id]  # nothing new at Google for the anonymous account
    card = stub.objects[object_id]
    assert card["state"] == "EXPIRED"
    assert (card["accountName"], card["accountId"], card["loyaltyPoints"]["balance"]) == ("", "", {"int": 0})
    assert "Anna" not in json.dumps(card)
