"""Telegram channel against a local Bot API stub over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.telegram import TelegramChannel
from shared.config import TelegramSettings
from tests.stubs.serving import free_port
from tests.stubs.telegram_api import TelegramApiStub

pytestmark = pytest.mark.e2e
TOKEN = "123456:TEST-token"


@pytest.fixture
async def stub() -> AsyncIterator[TelegramApiStub]:
    stub = TelegramApiStub(TOKEN)
    await stub.start()
    yield stub
    await stub.stop()


@pytest.fixture
async def channel(stub: TelegramApiStub) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TelegramSettings(token=TOKEN, api_url=stub.url))  # type: ignore[arg-type]
    yield channel
    await channel.close()


def message(chat: str, **meta: object) -> OutgoingMessage:
    return OutgoingMessage(
        id=1, channel="telegram", to=chat, text="Начислено 50 баллов", kind="points_accrued", meta=dict(meta)
    )


async def test_sends_to_the_chat_with_buttons(stub: TelegramApiStub, channel: TelegramChannel) -> None:
    result = await channel.send(message("555", buttons=[{"text": "Карта", "url": "https://shop.example/c"}]))
    assert result.status is DeliveryStatus.SENT
    assert result.provider_id == "555:1"
    [call] = stub.sent()
    assert str(call["chat_id"]) == "555"
    assert call["text"] == "Начислено 50 баллов"
    assert "https://shop.example/c" in str(call["reply_markup"])


async def test_blocked_bot_is_undeliverable(stub: TelegramApiStub, channel: TelegramChannel) -> None:
    stub.blocked.add(556)
    result = await channel.send(message("556"))
    assert result.status is DeliveryStatus.UNDELIVERABLE
    assert result.error == "blocked"


async def test_retry_after_is_passed_on(stub: TelegramApiStub, channel: TelegramChannel) -> None:
    stub.retry_after[557] = 7
    result = await channel.send(message("557"))
    assert result.status is DeliveryStatus.FAILED
    assert result.retry_after == 7.0


async def test_missing_chat_and_bad_address(stub: TelegramApiStub, channel: TelegramChannel) -> None:
    stub.missing.add(558)
    assert (await channel.send(message("558"))).status is DeliveryStatus.UNDELIVERABLE
    assert (await channel.send(message("not-a-chat"))).status is DeliveryStatus.UNDELIVERABLE
    assert len(stub.sent()) == 1


async def test_server_and_network_errors_are_transient(stub: TelegramApiStub, channel: TelegramChannel) -> None:
    stub.fail_with_500 = True
    assert (await channel.send(message("559"))).status is DeliveryStatus.FAILED
    offline = TelegramChannel(TelegramSettings(token=TOKEN, api_url=f"http://127.0.0.1:{free_port()}"))  # type: ignore[arg-type]
    try:
        result = await offline.send(message("559"))
    finally:
        await offline.close()
    assert result.status is DeliveryStatus.FAILED
    assert result.error == "network"
    assert not result.ambiguous  # never reached the server: safe to send again
