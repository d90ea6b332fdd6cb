"""Receipts become messages: the outbox, routing and the log provider end to end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.channels.log import LogChannel
from notifications.reports import record_delivery_report
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models.messages import Message
from shared.events import EventKind, emit
from shared.members import Registration, register


class ScriptedChannel:
    """A provider that answers what the test says, recording what it was given."""

    def __init__(self, name: str, answer: DeliveryStatus = DeliveryStatus.DELIVERED, batch_size: int = 1) -> None:
        self.name, self.answer, self.batch_size = name, answer, batch_size
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        self.sent.append(message)
        return DeliveryResult(self.answer, provider_id=f"{self.name}-{message.id}", error="scripted")

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        return None


def channels(**answers: DeliveryStatus) -> dict[str, ScriptedChannel]:
    return {
        name: ScriptedChannel(name, answers.get(name, DeliveryStatus.DELIVERED))
        for name in ("sms", "viber", "email", "push", "telegram")
    }


async def member(core: Core, phone: str = "+79123456789", **fields: Any) -> Any:
    consents = fields.pop("consents", {"sms": True, "viber": True, "telegram": True, "email": True})
    async with core.transaction() as session:
        found, _ = await register(
            session, core.clock, core.rules, Registration(phone=phone, consents=consents, **fields)
        )
    return found


async def messages(core: Core) -> list[Message]:
    async with core.reading() as session:
        return list((await session.execute(select(Message).order_by(Message.id))).scalars())


async def drain(worker: Worker, rounds: int = 5) -> None:
    for _ in range(rounds):
        await worker.run_once()


async def test_a_confirmed_purchase_produces_one_accrual_message_in_the_log(
    core: Core, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await client.post("/api/v1/members", json={"phone": "+79123456789", "consents": {"sms": True}})
    r = await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "msk-001",
            "receipt_id": "1",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )
    assert r.status_code == 201
    await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "msk-001",
            "receipt_id": "1",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )  # a retry
    path = tmp_path / "messages.jsonl"
    worker = Worker(core, {name: LogChannel(name, path) for name in ("sms", "viber", "email", "push", "telegram")})
    await drain(worker)
    await drain(worker)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    accrued = [line for line in lines if line["kind"] == "points_accrued"]
    assert len(accrued) == 1
    assert accrued[0]["channel"] == "sms"
    assert accrued[0]["to"] == "+79123456789"
    assert "+50 баллов" in accrued[0]["text"]
    assert "Баланс 100" in accrued[0]["text"]
    assert {"channel", "to", "subject", "text", "kind", "created_at"} <= accrued[0].keys()


async def test_cascade_prefers_free_channels_and_falls_through_when_one_cannot_deliver(core: Core) -> None:
    found = await member(core, telegram_user_id=555)
    scripted = channels(telegram=DeliveryStatus.UNDELIVERABLE)
    worker = Worker(core, scripted)
    await drain(worker)
    kinds = [(m.kind, m.channel, m.status) for m in await messages(core)]
    assert ("member_registered", "telegram", "undeliverable") in kinds
    assert ("member_registered", "sms", "delivered") in kinds  # push has no address, viber is skipped by cascade
    assert ("member_registered", "email", "delivered") not in kinds  # no e-mail address
    # the blocked bot is remembered: the next message goes straight to SMS
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_AVAILABLE, found.id, {"points": 5}, core.clock.now())
    await drain(worker)
    assert [m.channel for m in await messages(core) if m.kind == "points_available"] == ["viber"]


async def test_no_consent_no_message_but_login_codes_need_none(core: Core) -> None:
    found = await member(core, consents={})
    async with core.transaction() as session:
        await emit(session, EventKind.LOGIN_CODE, found.id, {"phone": found.phone, "code": "123456"}, core.clock.now())
    scripted = channels()
    await drain(Worker(core, scripted))
    sent = [(m.kind, m.channel) for m in await messages(core)]
    assert sent == [("login_code", "sms")]
    assert "123456" in scripted["sms"].sent[0].text


async def test_quiet_hours_defer_and_never_drop(core: Core, clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
    found = await member(core)
    scripted = channels()
    worker = Worker(core, scripted)
    await drain(worker)
    scripted["sms"].sent.clear()
    async with core.transaction() as session:
        await emit(
            session,
            EventKind.POINTS_EXPIRING,
            found.id,
            {"points": 100, "expires_at": "2026-11-29T09:00:00+00:00", "days": 7},
            clock.now(),
        )
        await emit(session, EventKind.LOGIN_CODE, found.id, {"phone": found.phone, "code": "654321"}, clock.now())
    await drain(worker)
    assert [m.kind for m in scripted["viber"].sent + scripted["sms"].sent] == ["login_code"]  # codes exempt
    clock.at = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)  # 08:59 next morning
    await drain(worker)
    assert not scripted["viber"].sent
    clock.at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00
    await drain(worker)
    assert [m.kind for m in scripted["viber"].sent] == ["points_expiring"]


async def test_quiet_hours_follow_the_members_time_zone(core: Core, clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)  # 15:30 Moscow, 22:30 Vladivostok
    east = await member(core, time_zone="Asia/Vladivostok")
    scripted = channels()
    worker = Worker(core, scripted)
    await drain(worker)
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_AVAILABLE, east.id, {"points": 1}, clock.now())
    await drain(worker)
    assert not [m for m in scripted["viber"].sent if m.kind == "points_available"]


async def test_promotional_frequency_cap(core: Core, clock: FixedClock) -> None:
    found = await member(core)
    scripted = channels()
    worker = Worker(core, scripted)
    for year in (2026, 2027, 2028):
        async with core.transaction() as session:
            await emit(
                session,
                EventKind.BIRTHDAY,
                found.id,
                {"birthday": f"{year}-11-24", "accrual_percent": 14},
                clock.now(),
                dedup_key=f"b{year}",
            )
    await drain(worker)
    birthday_viber = [m for m in scripted["viber"].sent if m.kind == "birthday"]
    birthday_sms = [m for m in scripted["sms"].sent if m.kind == "birthday"]
    assert len(birthday_viber) == 2
    assert len(birthday_sms) == 1


async def test_viber_without_a_delivery_report_falls_back_to_sms(core: Core, clock: FixedClock) -> None:
    found = await member(core)
    scripted = channels(viber=DeliveryStatus.SENT)
    worker = Worker(core, scripted)
    await drain(worker)
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_AVAILABLE, found.id, {"points": 3}, clock.now())
    await drain(worker)
    assert [m.kind for m in scripted["sms"].sent] == ["member_registered"]
    clock.advance(minutes=16)
    await drain(worker)
    assert [m.kind for m in scripted["sms"].sent] == ["member_registered", "points_available"]


async def test_delivery_report_of_undelivered_viber_falls_back_at_once(core: Core) -> None:
    found = await member(core)
    scripted = channels(viber=DeliveryStatus.SENT)
    worker = Worker(core, scripted)
    await drain(worker)
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_AVAILABLE, found.id, {"points": 3}, core.clock.now())
    await drain(worker)
    viber = next(m for m in await messages(core) if m.channel == "viber")
    assert await record_delivery_report(
        core,
        channel="viber",
        provider_id=viber.provider_id,
        message_id=None,
        status=DeliveryStatus.UNDELIVERABLE,
        error="not a viber user",
    )
    await drain(worker)
    assert [m.kind for m in scripted["sms"].sent][-1] == "points_available"
    assert not await record_delivery_report(
        core, channel="viber", provider_id="nope", message_id=None, status=DeliveryStatus.DELIVERED, error=None
    )


async def test_transient_failures_retry_with_backoff(core: Core, clock: FixedClock) -> None:
    await member(core)
    scripted = channels(sms=DeliveryStatus.FAILED)
    worker = Worker(core, scripted)
    await drain(worker)
    assert len(scripted["sms"].sent) == 1
    await drain(worker)
    assert len(scripted["sms"].sent) == 1  # not before the backoff
    scripted["sms"].answer = DeliveryStatus.DELIVERED
    clock.advance(minutes=2)
    await drain(worker)
    assert len(scripted["sms"].sent) == 2
    (message,) = [m for m in await messages(core) if m.channel == "sms"]
    assert message.status == "delivered"
    assert message.attempts == 2


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_messages_speak_the_members_language(core: Core, language: str) -> None:
    await member(core, language=language, first_name="Anna")
    scripted = channels()
    await drain(Worker(core, scripted))
    text = scripted["sms"].sent[0].text
    assert ("Ваша карта" in text) if language == "ru" else ("Your card" in text)


async def test_telegram_gets_at_most_one_message_per_chat_per_second(core: Core) -> None:
    found = await member(core, telegram_user_id=777)
    scripted = channels()
    worker = Worker(core, scripted)
    await drain(worker)
    async with core.transaction() as session:
        for n in range(3):
            await emit(session, EventKind.POINTS_AVAILABLE, found.id, {"points": n}, core.clock.now())
    await worker.run_once()
    await worker.run_once()
    assert len([m for m in scripted["telegram"].sent if m.kind == "points_available"]) <= 1


async def test_birthday_rate_on_a_receipt_reaches_the_member(core: Core, client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/members", json={"phone": "+79123456789", "birth_date": "1990-11-23", "consents": {"sms": True}}
    )
    await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": "b",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )
    scripted = channels()
    await drain(Worker(core, scripted))
    assert [m.kind for m in scripted["sms"].sent] == ["member_registered", "points_accrued"]
    assert "+140" in scripted["sms"].sent[1].text


async def test_an_event_that_cannot_be_planned_does_not_stall_the_rest(core: Core) -> None:
    found = await member(core)
    async with core.transaction() as session:
        await emit(session, EventKind.BIRTHDAY, found.id, {"birthday": "not a date"}, core.clock.now())
        await emit(session, EventKind.POINTS_ACCRUED, found.id, {"points": 7}, core.clock.now())
    scripted = channels()
    await drain(Worker(core, scripted))
    assert "points_accrued" in [m.kind for m in scripted["viber"].sent]
