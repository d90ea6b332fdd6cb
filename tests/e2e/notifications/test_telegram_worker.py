"""The notifier's Telegram channel against a Bot API server we control (the stub, over a real socket):
a 429 is waited out exactly as long as Telegram asks, a 403 marks the member's Telegram dead and the
message falls through to the next channel of its cascade."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications.channels.log import LogChannel
from notifications.providers.telegram import TelegramChannel
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import TelegramSettings
from shared.core import Core
from shared.db.models.messages import ChannelStatus, Message
from shared.events import EventKind, emit
from shared.members import Registration, register
from tests.stubs.telegram_api import TelegramApiStub

pytestmark = pytest.mark.e2e
TOKEN = "123456:TEST-token"
OTHERS = ("sms", "viber", "email", "push")


@pytest.fixture
async def stub() -> AsyncIterator[TelegramApiStub]:
    stub = TelegramApiStub(TOKEN)
    await stub.start()
    yield stub
    await stub.stop()


@pytest.fixture
async def worker(core: Core, stub: TelegramApiStub, tmp_path: Path) -> AsyncIterator[Worker]:
    telegram = TelegramChannel(TelegramSettings(token=TOKEN, api_url=stub.url))  # type: ignore[arg-type]
    channels: dict[str, Any] = {name: LogChannel(name, tmp_path / "sent.jsonl") for name in OTHERS}
    yield Worker(core, {**channels, "telegram": telegram})
    await telegram.close()


def logged(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "sent.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


async def rows(core: Core, kind: str) -> list[Message]:
    async with core.reading() as session:
        query = select(Message).where(Message.kind == kind).order_by(Message.id)
        return list((await session.execute(query)).scalars())


async def join(core: Core, chat: int) -> Any:
    consents = {"sms": True, "viber": True, "telegram": True, "email": True}
    async with core.transaction() as session:
        member, _ = await register(
            session,
            core.clock,
            core.rules,
            Registration(phone="+79123456789", consents=consents, telegram_user_id=chat),
        )
    return member


async def test_429_is_waited_out_as_long_as_telegram_asks(
    core: Core, clock: FixedClock, stub: TelegramApiStub, worker: Worker, tmp_path: Path
) -> None:
    await join(core, 557)
    stub.retry_after[557] = 7
    await worker.run_once()
    [row] = await rows(core, "member_registered")
    assert (row.channel, row.status, row.error) == ("telegram", "failed", "rate limited")
    assert row.next_attempt_at == clock.now().replace(tzinfo=row.next_attempt_at.tzinfo) + timedelta(seconds=7)
    del stub.retry_after[557]  # Telegram would answer now, but the worker was asked to wait 7 s
    await asyncio.sleep(1.1)  # past the worker's own one-message-a-second pacing per chat (wall clock)

    clock.advance(seconds=6)
    await worker.run_once()
    assert len(stub.sent()) == 1  # only the refused attempt
    clock.advance(seconds=1)
    await worker.run_once()
    [row] = await rows(core, "member_registered")
    assert (row.status, row.attempts) == ("sent", 2)
    assert [str(call["chat_id"]) for call in stub.sent()] == ["557", "557"]
    assert not [line for line in logged(tmp_path) if line["kind"] == "member_registered"]  # no fall-through


async def test_403_marks_telegram_dead_and_falls_through_to_the_next_channel(
    core: Core, stub: TelegramApiStub, worker: Worker, tmp_path: Path
) -> None:
    member = await join(core, 556)
    stub.blocked.add(556)
    for _ in range(3):
        await worker.run_once()
    first, second = await rows(core, "member_registered")
    assert (first.channel, first.status, first.error) == ("telegram", "undeliverable", "blocked")
    assert second.channel == "sms"
    assert [line["channel"] for line in logged(tmp_path) if line["kind"] == "member_registered"] == ["sms"]
    async with core.reading() as session:
        dead = (await session.execute(select(ChannelStatus).where(ChannelStatus.member_id == member.id))).scalars()
        assert [(s.channel, s.reason) for s in dead] == [("telegram", "blocked")]

    # the next message does not knock on the blocked chat again
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_AVAILABLE, member.id, {"points": 5}, core.clock.now())
    for _ in range(3):
        await worker.run_once()
    later = [m.channel for m in await rows(core, "points_available")]
    assert later
    assert "telegram" not in later
    assert len(stub.sent()) == 1
