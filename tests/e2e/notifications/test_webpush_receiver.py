"""Our web push channel against a push service of our own making (tests/stubs/webpush.py): it
decrypts the aes128gcm payload with a subscription key pair it generated and verifies the VAPID JWT
(signature, key, aud, exp, sub); 404 and 410 from it remove the subscription."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.webpush import WebPushChannel, vapid_public_key
from notifications.push_subscriptions import push_policy, save_subscription, subscriptions_of
from shared.config import PushSettings, Settings
from shared.core import Core
from shared.members import Registration, register
from tests.stubs.webpush import PushReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def push_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Fresh VAPID keys per test; the receiver (plain http on 127.0.0.1) let through by the setting for tests."""
    push = PushSettings(provider="webpush", allow_insecure_hosts="127.0.0.1", vapid_subject="mailto:push@shop.example")
    return settings.model_copy(update={"var_dir": tmp_path, "push": push})


@pytest.fixture
async def receiver() -> AsyncIterator[PushReceiver]:
    service = PushReceiver()
    await service.start()
    yield service
    await service.stop()


def message(subscription: dict[str, Any], n: int = 1) -> OutgoingMessage:
    return OutgoingMessage(
        id=n,
        channel="push",
        to=json.dumps(subscription),
        text="Начислено 50 баллов, баланс 1 250",
        kind="points_accrued",
        subject="Баллы",
        meta={"url": "https://shop.example/card"},
    )


async def send(settings: Settings, core: Core | None, subscription: dict[str, Any]) -> DeliveryStatus:
    channel = WebPushChannel(settings, core)
    try:
        return (await channel.send(message(subscription))).status
    finally:
        await channel.close()


async def test_payload_decrypts_and_the_vapid_jwt_verifies(
    receiver: PushReceiver, push_settings: Settings, core: Core
) -> None:
    subscription = receiver.subscribe(vapid_public_key(push_settings))
    sent_at = time.time()
    assert await send(push_settings, core, subscription) is DeliveryStatus.SENT
    assert receiver.refused == []
    [got] = receiver.received
    assert got.payload == {
        "title": "Баллы",
        "body": "Начислено 50 баллов, баланс 1 250",
        "tag": "points_accrued",
        "url": "https://shop.example/card",
        "id": 1,
    }
    assert got.claims["aud"] == receiver.base
    assert got.claims["sub"] == "mailto:push@shop.example"
    assert sent_at < got.claims["exp"] <= sent_at + 24 * 3600
    assert int(got.headers["ttl"]) == push_settings.push.ttl_seconds


async def test_the_receiver_turns_down_a_push_signed_with_another_key(
    receiver: PushReceiver, push_settings: Settings, tmp_path: Path
) -> None:
    """The peer is not a rubber stamp: a subscription made for our key, a push signed with another."""
    subscription = receiver.subscribe(vapid_public_key(push_settings))
    other = push_settings.model_copy(update={"var_dir": tmp_path / "other"})
    assert await send(other, None, subscription) is DeliveryStatus.FAILED  # 403: fix the key, then retry
    assert receiver.received == []
    assert receiver.refused == [(403, "k is not the key the subscription was made with")]


@pytest.mark.parametrize("answer", [404, 410])
async def test_gone_subscription_is_removed(
    receiver: PushReceiver, push_settings: Settings, core: Core, answer: int
) -> None:
    gone = receiver.subscribe(vapid_public_key(push_settings))
    kept = receiver.subscribe(vapid_public_key(push_settings))
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone="+79123456782"))
        for subscription in (gone, kept):
            await save_subscription(session, member.id, subscription, core.clock.now(), push_policy(push_settings))
    receiver.subscriptions[gone["endpoint"].rsplit("/", 1)[-1]].answer = answer

    assert await send(push_settings, core, gone) is DeliveryStatus.UNDELIVERABLE
    async with core.reading() as session:
        left = [row.endpoint for row in await subscriptions_of(session, member.id)]
    assert left == [kept["endpoint"]]
    assert await send(push_settings, core, kept) is DeliveryStatus.SENT
