"""SMS over SMPP 3.4 against the stub SMSC (tests/stubs/smpp.py) on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.smpp import SmppChannel, parse_receipt
from shared.config import SmsSettings
from tests.stubs.serving import free_port
from tests.stubs.smpp import SmppStub

pytestmark = pytest.mark.e2e


class Reports:
    """Collects what the channel hands to record_delivery_report."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []

    async def __call__(self, core: object, **report: object) -> bool:
        self.items.append(report)
        return True

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.items) < count:  # noqa: ASYNC110 - reports arrive from another thread
                await asyncio.sleep(0.01)


@pytest.fixture
async def smsc() -> AsyncIterator[SmppStub]:
    stub = SmppStub(system_id="shop", password="pw")
    stub.port = await stub.start()  # type: ignore[attr-defined]
    yield stub
    await stub.stop()


def smpp_settings(port: int, password: str = "pw") -> SmsSettings:
    return SmsSettings(
        provider="smpp",
        smpp_port=port,
        smpp_system_id="shop",
        smpp_password=password,  # type: ignore[arg-type]
        sender="Shop",
    )


def sms(n: int, to: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(id=n, channel="sms", to=to, text=text, kind="points_accrued")


async def test_cyrillic_long_message_is_split_in_ucs2_and_receipts_recorded(smsc: SmppStub) -> None:
    reports = Reports()
    channel = SmppChannel(smpp_settings(smsc.port), recorder=reports)  # type: ignore[attr-defined]
    text = "Здравствуйте! " + "Вам начислено 120 баллов за покупку. " * 4  # ~160 Cyrillic chars
    try:
        long = await channel.send(sms(1, "+79123456781", text))
        short = await channel.send(sms(2, "+79123456780", "Hello"))
        await reports.wait_for(long.cost_parts + 1)
    finally:
        await channel.close()
    assert long.status is DeliveryStatus.SENT
    assert long.cost_parts == 3
    assert smsc.messages[0] == ("79123456781", text)
    assert all(p.data_coding == 0x08 and p.esm_class & 0x40 for p in smsc.parts[:3])
    assert smsc.parts[3].data_coding == 0x00
    assert short.cost_parts == 1
    by_message = {(r["message_id"], r["status"]) for r in reports.items}
    assert (1, DeliveryStatus.DELIVERED) in by_message
    assert (2, DeliveryStatus.UNDELIVERABLE) in by_message
    assert all(r["provider_id"] == long.provider_id for r in reports.items if r["message_id"] == 1)
    assert smsc.binds == 1
    assert smsc.unbinds == 1
    assert smsc.receipts_acknowledged == 4


async def test_rejections_map_to_statuses(smsc: SmppStub) -> None:
    smsc.reject["79000000001"] = 0x0B
    smsc.reject["79000000002"] = 0x58
    channel = SmppChannel(smpp_settings(smsc.port), recorder=Reports())  # type: ignore[attr-defined]
    try:
        bad = await channel.send(sms(3, "+79000000001", "x"))
        throttled = await channel.send(sms(4, "+79000000002", "x"))
        paused = await channel.send(sms(5, "+79123456781", "x"))
    finally:
        await channel.close()
    assert bad.status is DeliveryStatus.UNDELIVERABLE
    assert bad.error == "invalid number"
    assert throttled.status is DeliveryStatus.FAILED
    assert throttled.retry_after
    assert throttled.retry_after >= 5
    assert paused.error == "cooling down"
    assert len(smsc.parts) == 0


async def test_enquire_link_keeps_the_session_alive(smsc: SmppStub) -> None:
    channel = SmppChannel(smpp_settings(smsc.port), recorder=Reports(), enquire_interval=0.2)  # type: ignore[attr-defined]
    try:
        assert (await channel.send(sms(6, "+79123456781", "a"))).status is DeliveryStatus.SENT
        await asyncio.sleep(0.7)
        assert (await channel.send(sms(7, "+79123456781", "b"))).status is DeliveryStatus.SENT
    finally:
        await channel.close()
    assert smsc.enquire_links >= 2
    assert smsc.binds == 1


async def test_wrong_password_and_no_server_are_transient(smsc: SmppStub) -> None:
    wrong = SmppChannel(smpp_settings(smsc.port, password="nope"))  # type: ignore[attr-defined]
    down = SmppChannel(smpp_settings(free_port()))
    try:
        refused = await wrong.send(sms(8, "+79123456781", "x"))
        offline = await down.send(sms(9, "+79123456781", "x"))
    finally:
        await wrong.close()
        await down.close()
    assert refused.status is DeliveryStatus.FAILED
    assert offline.status is DeliveryStatus.FAILED
    assert smsc.binds == 0


def test_receipt_text_parsing() -> None:
    text = b"id:1A2B sub:001 dlvd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:000 text:hi"
    assert parse_receipt(text) == ("1A2B", "DELIVRD", "000")
    assert parse_receipt(text, b"FF01") == ("FF01", "DELIVRD", "000")
    assert parse_receipt(b"hello") is None
