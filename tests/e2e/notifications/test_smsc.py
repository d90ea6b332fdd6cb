"""SMS/Viber through SMSC.ru's HTTP API (the stub follows its documentation, tests/stubs/smsc.py) over a
real socket: single sends, the ``list`` batch, errors by ``error_code``, ``status.php``, and delivery
reports back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from notifications.channels.base import DeliveryStatus, OutgoingMessage
from notifications.providers.smsc import SmscChannel
from shared.config import Settings, SmsSettings
from shared.core import Core
from tests.stubs.serving import serve_app
from tests.stubs.smsc import SmscStub
from webapp.app import create_app

pytestmark = pytest.mark.e2e
CALLBACK_SECRET = "cb-secret-0123456789abcdef"


@pytest.fixture
async def stub() -> AsyncIterator[SmscStub]:
    stub = SmscStub()
    await stub.start()
    yield stub
    await stub.stop()


def sms_settings(url: str, **extra: object) -> SmsSettings:
    return SmsSettings(provider="smsc", api_url=url, login="shop", password="secret", sender="Shop", **extra)  # type: ignore[arg-type]


def message(n: int, phone: str = "+79123456781", text: str = "Вам начислено 120 баллов") -> OutgoingMessage:
    return OutgoingMessage(id=n, channel="sms", to=phone, text=text, kind="points_accrued")


async def test_single_send_reports_parts_and_uses_message_id(stub: SmscStub) -> None:
    channel = SmscChannel(sms_settings(stub.url))
    try:
        result = await channel.send(message(41, text="Б" * 100))  # Cyrillic: 67 per part -> 2 parts
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.SENT
    assert result.provider_id == "41:79123456781"  # SMSC names a message by (id, phone)
    assert result.cost_parts == 2
    assert stub.accepted == ["41:79123456781"]
    assert stub.forms[0]["fmt"] == "3"
    assert stub.forms[0]["id"] == "41"


async def test_batch_uses_the_documented_list_form(stub: SmscStub) -> None:
    stub.invalid_phones.add("79000000007")
    channel = SmscChannel(sms_settings(stub.url, batch_size=200))
    batch = [message(i, phone=f"+7912{i:07d}", text=f"Баллы: {i}\nСпасибо: ждём вас!") for i in range(1, 451)]
    batch[9] = message(10, phone="+79000000007")
    try:
        results = await channel.send_batch(batch)
    finally:
        await channel.close()
    assert stub.requests == 3
    assert stub.list_requests == 3
    first = stub.forms[0]
    assert first["id"] == "1"
    assert first["list"].split("\n")[0] == "79120000001:Баллы: 1\\nСпасибо: ждём вас!"  # newline escaped
    assert "phones" not in first
    assert stub.sent[0] == ("79120000001", "Баллы: 1\nСпасибо: ждём вас!")  # the SMSC reads the newline back
    assert len(results) == 450
    assert results[9].status is DeliveryStatus.UNDELIVERABLE
    assert results[9].error == "invalid number"
    assert sum(r.status is DeliveryStatus.SENT for r in results) == 449
    assert results[0].provider_id == "1:79120000001"
    assert results[1].provider_id == "1:79120000002"  # the batch's id, told apart by the phone
    assert results[200].provider_id == "201:79120000201"
    assert stub.count == 449
    assert not stub.duplicates()


async def test_one_phone_twice_goes_in_separate_requests(stub: SmscStub) -> None:
    channel = SmscChannel(sms_settings(stub.url, batch_size=200))
    batch = [message(1, "+79123456781", "a"), message(2, "+79123456782", "b"), message(3, "+79123456781", "c")]
    try:
        results = await channel.send_batch(batch)
    finally:
        await channel.close()
    assert [r.provider_id for r in results] == ["1:79123456781", "1:79123456782", "3:79123456781"]
    assert len(set(stub.accepted)) == 3  # (id, phone) stays unique, so reports and status can tell them apart


@pytest.mark.parametrize(("code", "reason"), [(6, "message prohibited"), (1, "parameters")])
async def test_a_batch_refused_for_one_message_fails_only_that_one(stub: SmscStub, code: int, reason: str) -> None:
    batch = [message(i, phone=f"+7912345678{i}", text=f"text {i}") for i in range(1, 6)]
    if code == 6:
        stub.denied_texts.add("text 3")
    else:
        batch[2] = message(3, phone="+79123456783", text="")  # SMSC: a line without a text is a parameters error
    channel = SmscChannel(sms_settings(stub.url, batch_size=200))
    try:
        results = await channel.send_batch(batch)
    finally:
        await channel.close()
    assert [r.status for r in results] == [DeliveryStatus.SENT] * 2 + [DeliveryStatus.UNDELIVERABLE] + [
        DeliveryStatus.SENT
    ] * 2
    assert results[2].error == reason
    assert stub.list_requests == 1  # refused whole, then one by one
    assert stub.requests == 6
    assert sorted(stub.accepted) == [f"{i}:7912345678{i}" for i in (1, 2, 4, 5)]
    assert not stub.duplicates()


async def test_too_many_concurrent_requests_is_retried_later(stub: SmscStub) -> None:
    stub.phone_errors["+79123456789"] = (None, 9)
    channel = SmscChannel(sms_settings(stub.url, batch_size=200))
    try:
        batch = await channel.send_batch([message(1, "+79123456781"), message(2, "+79123456789")])
        paused = await channel.send(message(3))
    finally:
        await channel.close()
    assert [r.status for r in batch] == [DeliveryStatus.FAILED] * 2  # nothing of the request was sent
    assert all(r.error == "too many concurrent requests" and r.retry_after == 60.0 for r in batch)
    assert paused.error == "cooling down"
    assert stub.requests == 1
    assert stub.count == 0


async def test_status_by_id_and_phone_single_and_list(stub: SmscStub) -> None:
    channel = SmscChannel(sms_settings(stub.url, batch_size=200))
    sent = [message(1, "+79123456781"), message(2, "+79123456782"), message(3, "+79123456781", "again")]
    never = message(4, "+79123456784")
    try:
        await channel.send_batch(sent)
        several = await channel.lookup([*sent, never])
        one_sent = await channel.lookup([sent[0]])
        one_missing = await channel.lookup([never])
    finally:
        await channel.close()
    assert [r.provider_id if r else None for r in several] == ["1:79123456781", "1:79123456782", "3:79123456781", None]
    assert one_sent[0] is not None
    assert one_sent[0].provider_id == "1:79123456781"
    assert one_missing == [None]  # error_code 3: not found, safe to send
    status_forms = [f for f in stub.forms if "list" in f and "," in f["list"].split("\n")[0][:13]]
    assert status_forms == []  # status requests are not send requests
    assert stub.status_requests == 3
    assert stub.count == 3


async def test_error_burst_pauses_instead_of_hammering(stub: SmscStub) -> None:
    stub.answer_status = 503
    channel = SmscChannel(sms_settings(stub.url))
    try:
        first = await channel.send(message(1))
        second = await channel.send(message(2))
        batch = await channel.send_batch([message(3), message(4)])
    finally:
        await channel.close()
    assert first.status is DeliveryStatus.FAILED
    assert first.retry_after
    assert first.retry_after >= 1
    assert second.status is DeliveryStatus.FAILED
    assert second.error == "cooling down"
    assert all(r.status is DeliveryStatus.FAILED for r in batch)
    assert stub.requests == 1  # the pause kept us off the provider


async def test_timeouts_and_refused_connections_are_transient() -> None:
    channel = SmscChannel(sms_settings("http://127.0.0.1:9", request_timeout=2))
    try:
        result = await channel.send(message(5))
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.FAILED
    assert result.retry_after


async def test_rate_limit_code_and_bad_login(stub: SmscStub) -> None:
    stub.phone_errors["79123456789"] = (None, 9)
    channel = SmscChannel(sms_settings(stub.url))
    wrong = SmscChannel(SmsSettings(provider="smsc", api_url=stub.url, login="shop", password="nope"))
    try:
        limited = await channel.send(message(6, phone="+79123456789"))
        denied = await wrong.send(message(7))
    finally:
        await channel.close()
        await wrong.close()
    assert limited.status is DeliveryStatus.FAILED
    assert limited.retry_after == 60.0
    assert denied.status is DeliveryStatus.FAILED
    assert denied.error == "authorisation"


async def test_viber_flag(stub: SmscStub) -> None:
    channel = SmscChannel(sms_settings(stub.url), name="viber", viber=True)
    try:
        result = await channel.send(message(8))
    finally:
        await channel.close()
    assert result.status is DeliveryStatus.SENT
    assert stub.viber_accepted == ["8:79123456781"]


async def test_delivery_reports_reach_the_app(settings: Settings, core: Core) -> None:
    recorded: list[dict[str, object]] = []

    async def record(core_: Core, **report: object) -> bool:
        assert core_ is core
        recorded.append(report)
        return True

    cfg = settings.model_copy(update={"sms": sms_settings("http://x", callback_secret=CALLBACK_SECRET)})
    app = create_app(cfg, core=core)
    app.state["record_delivery_report"] = record
    async with serve_app(app) as base:
        stub = SmscStub(callback_url=f"{base}/callbacks/sms/smsc/{CALLBACK_SECRET}")
        await stub.start()
        channel = SmscChannel(sms_settings(stub.url, batch_size=200))
        try:
            results = await channel.send_batch([message(101, "+79123456781"), message(102, "+79123456780")])
            async with asyncio.timeout(5):
                await stub.reports_drained()
            async with httpx.AsyncClient(base_url=base) as http:
                forged = await http.post("/callbacks/sms/smsc/wrong", data={"id": "101", "status": "1"})
        finally:
            await channel.close()
            await stub.stop()
    assert [r.status for r in results] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert stub.callback_answers == [200, 200]
    assert forged.status_code == 403
    by_phone = {r["phone"]: r for r in recorded}  # one batch: both reports carry id 101, told apart by phone
    assert by_phone["79123456781"]["status"] is DeliveryStatus.DELIVERED
    assert by_phone["79123456780"]["status"] is DeliveryStatus.UNDELIVERABLE
    assert by_phone["79123456780"]["channel"] == "sms"
    assert by_phone["79123456780"]["provider_id"] == results[1].provider_id == "101:79123456780"


async def test_batch_size_one_uses_single_sends(stub: SmscStub) -> None:
    channel = SmscChannel(sms_settings(stub.url, batch_size=1))
    try:
        results = await channel.send_batch([message(201), message(202)])
    finally:
        await channel.close()
    assert [r.provider_id for r in results] == ["201:79123456781", "202:79123456781"]
    assert stub.requests == 2
