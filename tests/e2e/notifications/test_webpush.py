"""Web Push against the npm web-push-testing server (checks VAPID, decrypts aes128gcm) over a real socket."""

from __future__ import annotations

import asyncio
import json
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.webpush import WebPushChannel, vapid_public_key
from notifications.push_subscriptions import push_policy, save_subscription, subscriptions_of
from shared.config import PushSettings, Settings
from shared.core import Core
from shared.db.models.messages import PushSubscription
from shared.members import Registration, register
from tests.stubs.serving import free_port

pytestmark = pytest.mark.e2e
SERVER = Path("node_modules/web-push-testing/src/bin/server.js")


@pytest.fixture(scope="module")
def push_service() -> Iterator[str]:
    if not SERVER.exists() or shutil.which("node") is None:
        pytest.fail("web-push-testing is missing: `make install` runs `npm ci` (needs node and npm)")
    port = free_port()
    proc = subprocess.Popen(["node", str(SERVER), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


async def call(base: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):  # the node server needs a moment on first start
            try:
                async with http.post(base + path, json=body or {}) as answer:
                    text = await answer.text()
                    is_json = answer.content_type == "application/json"
                    return answer.status, json.loads(text) if is_json else text
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError("push service did not start")


@pytest.fixture
def push_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Fresh VAPID keys per test; the local test server (plain http on localhost) is let through by
    the setting meant for it."""
    push = PushSettings(provider="webpush", allow_insecure_hosts="localhost")
    return settings.model_copy(update={"var_dir": tmp_path, "push": push})


async def subscribe(base: str, settings: Settings) -> dict[str, Any]:
    status, body = await call(
        base, "/subscribe", {"userVisibleOnly": "true", "applicationServerKey": vapid_public_key(settings)}
    )
    assert status == 200, body
    return dict(body["data"])


def push(subscription: dict[str, Any], n: int = 1) -> OutgoingMessage:
    address = json.dumps({"endpoint": subscription["endpoint"], "keys": subscription["keys"]})
    return OutgoingMessage(
        id=n,
        channel="push",
        to=address,
        text="Начислено 50 баллов",
        kind="points_accrued",
        subject="Баллы",
        meta={"url": "https://shop.example/card"},
    )


async def test_vapid_keys_are_generated_once_and_private(push_settings: Settings) -> None:
    first = vapid_public_key(push_settings)
    path = push_settings.var_dir / "vapid.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vapid_public_key(push_settings) == first
    assert len(first) == 87  # 65-byte uncompressed P-256 point, urlsafe base64 without padding


async def test_push_is_delivered_and_decrypted(push_service: str, push_settings: Settings, core: Core) -> None:
    subscription = await subscribe(push_service, push_settings)
    channel = WebPushChannel(push_settings, core)
    try:
        result = await channel.send(push(subscription))
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.SENT
    status, body = await call(push_service, "/get-notifications", {"clientHash": subscription["clientHash"]})
    assert status == 200
    [payload] = body["data"]["messages"]
    delivered = json.loads(payload) if isinstance(payload, str) else payload
    assert delivered["body"] == "Начислено 50 баллов"
    assert delivered["url"] == "https://shop.example/card"


async def test_the_test_server_is_refused_without_the_setting(
    push_service: str, push_settings: Settings, settings: Settings
) -> None:
    subscription = await subscribe(push_service, push_settings)
    channel = WebPushChannel(push_settings.model_copy(update={"push": PushSettings(provider="webpush")}))
    try:
        result = await channel.send(push(subscription))
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.UNDELIVERABLE
    status, body = await call(push_service, "/get-notifications", {"clientHash": subscription["clientHash"]})
    assert status == 200
    assert body["data"]["messages"] == []


async def test_wrong_vapid_key_is_refused(push_service: str, push_settings: Settings, tmp_path: Path) -> None:
    subscription = await subscribe(push_service, push_settings)
    other = push_settings.model_copy(update={"var_dir": tmp_path / "other"})
    channel = WebPushChannel(other)
    try:
        result = await channel.send(push(subscription))
    finally:
        await channel.close()
    assert result.status is not DeliveryStatus.SENT


async def test_expired_subscription_is_removed(push_service: str, push_settings: Settings, core: Core) -> None:
    subscription = await subscribe(push_service, push_settings)
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456789"))
        await save_subscription(session, member.id, subscription, core.clock.now(), push_policy(push_settings))
    status, _ = await call(push_service, f"/expire-subscription/{subscription['clientHash']}")
    assert status == 200
    channel = WebPushChannel(push_settings, core)
    try:
        result = await channel.send(push(subscription, 2))
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.UNDELIVERABLE
    async with core.reading() as session:
        assert await subscriptions_of(session, member.id) == []
        assert (await session.execute(select(PushSubscription))).first() is None
