"""Retention by the clock: old message texts and addresses blanked, old one-time codes deleted, in batches."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import FixedClock
from shared.config import RetentionSettings
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.login_codes import LoginCode
from shared.events import EventKind
from shared.retention import run_retention
from tests.integration.privacy.helpers import PHONE, message, rows


async def _seed_messages(core: Core, count: int, *, days_ago: float) -> None:
    moment = core.clock.now() - timedelta(days=days_ago)
    async with core.transaction() as session:
        for n in range(count):
            session.add(message(None, moment, source=f"old:{days_ago}:{n}", recipient=PHONE))


async def test_messages_older_than_the_setting_are_blanked_in_batches(core: Core, clock: FixedClock) -> None:
    await _seed_messages(core, 5, days_ago=181)
    await _seed_messages(core, 2, days_ago=179)
    settings = RetentionSettings(message_days=180, batch_size=2)  # 5 old rows: three batches
    report = await run_retention(core, clock, settings)
    assert report.messages_blanked == 5
    blanked = await rows(core, "SELECT address, text, html, subject, recipient FROM messages WHERE address = ''")
    assert len(blanked) == 5
    assert all((m.text, m.html, m.subject) == ("", None, None) for m in blanked)
    assert all(m.recipient.startswith("blanked:") for m in blanked)  # it was the phone
    kept = await rows(core, "SELECT address, text FROM messages WHERE address <> ''")
    assert [(m.address, m.text) for m in kept] == [(PHONE, "Anna, your code is 123456")] * 2

    assert (await run_retention(core, clock, settings)).messages_blanked == 0  # nothing twice
    clock.advance(days=2)  # the two younger ones now pass 180 days
    assert (await run_retention(core, clock, settings)).messages_blanked == 2
    assert await rows(core, "SELECT id FROM messages WHERE address <> '' OR text <> ''") == []


async def test_the_days_are_a_setting(core: Core, clock: FixedClock) -> None:
    await _seed_messages(core, 3, days_ago=31)
    assert (await run_retention(core, clock, RetentionSettings())).messages_blanked == 0
    assert (await run_retention(core, clock, RetentionSettings(message_days=30))).messages_blanked == 3


async def test_one_time_codes_and_their_events_go_after_a_day(core: Core, clock: FixedClock) -> None:
    now = clock.now()
    async with core.transaction() as session:
        for n, hours in enumerate((30, 25, 23, 1)):
            at = now - timedelta(hours=hours)
            session.add(
                LoginCode(
                    phone=PHONE, ip="10.0.0.1", code_hash=f"h{n}", created_at=at, expires_at=at + timedelta(minutes=5)
                )
            )
            session.add(
                OutboxEvent(
                    kind=EventKind.LOGIN_CODE.value,
                    member_id=None,
                    created_at=at,
                    processed_at=at,
                    payload={"phone": PHONE, "code": f"00000{n}"},
                )
            )
        # not processed yet: the worker still needs it
        session.add(
            OutboxEvent(
                kind=EventKind.LOGIN_CODE.value,
                member_id=None,
                created_at=now - timedelta(hours=30),
                payload={"phone": PHONE, "code": "999999"},
            )
        )
    report = await run_retention(core, clock, RetentionSettings(batch_size=1))
    assert (report.login_codes_deleted, report.code_events_deleted) == (2, 2)
    assert sorted(r.code_hash for r in await rows(core, "SELECT code_hash FROM login_codes")) == ["h2", "h3"]
    assert len(await rows(core, "SELECT id FROM outbox")) == 3


async def test_the_worker_due_run_applies_retention(core: Core, clock: FixedClock) -> None:
    from loyalty.processes import create_worker

    await _seed_messages(core, 1, days_ago=200)
    worker = create_worker(core.settings, core)
    await worker._run_due()
    assert await rows(core, "SELECT id FROM messages WHERE address <> ''") == []
