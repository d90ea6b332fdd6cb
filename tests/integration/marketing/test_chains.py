"""Trigger chains: "no purchase for 60 days -> message -> 7 days later a bonus if still no purchase",
each step once per member however often the scheduler runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from notifications.campaigns.chains import create_chain, run_due_chains
from shared.core import Core
from shared.db.models import Entry, Member, OutboxEvent
from shared.db.models.campaigns import ChainProgress
from shared.db.models.messages import Message
from shared.errors import InvalidInput
from tests.integration.marketing.builders import bought, days_ago, member

STEPS: list[dict[str, Any]] = [
    {
        "type": "message",
        "channels": ["telegram", "sms"],
        "templates": {"telegram": {"ru": {"text": "{{ name }}, мы скучаем!"}}, "sms": {"ru": {"text": "Мы скучаем!"}}},
    },
    {"type": "wait", "days": 7},
    {"type": "bonus", "points": 200, "expires_days": 30},
]


async def chain(core: Core) -> int:
    async with core.transaction() as session:
        return await create_chain(session, name="Win back", no_purchase_days=60, steps=STEPS, now=core.clock.now())


async def chain_state(core: Core) -> tuple[dict[Any, str], list[Message], dict[Any, int]]:
    async with core.reading() as session:
        progress = {p.member_id: p.status for p in (await session.execute(select(ChainProgress))).scalars()}
        messages = list((await session.execute(select(Message).where(Message.kind == "chain"))).scalars())
        bonus = dict(
            (
                await session.execute(
                    select(Entry.member_id, func.sum(Entry.points))
                    .where(Entry.comment.like("bonus: chain:%"))
                    .group_by(Entry.member_id)
                )
            ).all()
        )
    return progress, messages, bonus


async def test_message_then_bonus_only_for_those_who_still_did_not_buy(core: Core) -> None:
    stays_away = await member(core, 1)
    comes_back = await member(core, 2)
    active = await member(core, 3)
    await bought(core, stays_away, days_ago(core, 61), 500_00)
    await bought(core, comes_back, days_ago(core, 70), 500_00)
    await bought(core, active, days_ago(core, 5), 500_00)
    await chain(core)

    await run_due_chains(core)
    await run_due_chains(core)  # a double run changes nothing
    progress, messages, bonus = await chain_state(core)
    assert set(progress) == {stays_away, comes_back}
    assert sorted(m.member_id for m in messages) == sorted([stays_away, comes_back])
    assert {m.channel for m in messages} == {"sms"}
    assert all(m.promotional for m in messages)
    assert bonus == {}

    core.clock.advance(days=3)
    await bought(core, comes_back, core.clock.now(), 300_00)
    core.clock.advance(days=4, minutes=1)
    await run_due_chains(core)
    await run_due_chains(core)
    progress, messages, bonus = await chain_state(core)
    assert progress == {stays_away: "done", comes_back: "exited"}
    assert len(messages) == 2
    assert bonus == {stays_away: 200}
    async with core.reading() as session:
        lapsed = await session.get(Member, stays_away)
        events = (
            await session.execute(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.kind == "bonus_granted", OutboxEvent.member_id == stays_away)
            )
        ).scalar_one()
    assert lapsed is not None
    assert lapsed.available == 100 + 200
    assert events == 1


async def test_lapsing_again_later_starts_a_new_entry(core: Core) -> None:
    again = await member(core, 1)
    await bought(core, again, days_ago(core, 61), 500_00)
    await chain(core)
    await run_due_chains(core)
    core.clock.advance(days=1)
    await bought(core, again, core.clock.now(), 100_00)
    await run_due_chains(core)  # bought: leaves the chain
    core.clock.advance(days=61)
    await run_due_chains(core)  # lapsed again: a second message
    progress, messages, _ = await chain_state(core)
    assert progress == {again: "active"}
    assert len(messages) == 2
    assert len({m.source for m in messages}) == 2


async def test_bad_chains_name_each_step(core: Core) -> None:
    async with core.transaction() as session:
        with pytest.raises(InvalidInput) as caught:
            await create_chain(
                session,
                name="x",
                no_purchase_days=0,
                now=core.clock.now(),
                steps=[
                    {"type": "message", "channels": ["sms"], "templates": {"sms": {"ru": {"text": "{% if %}"}}}},
                    {"type": "wait", "days": 0},
                    {"type": "bonus", "points": -5},
                    {"type": "party"},
                ],
            )
    assert {e.field for e in caught.value.errors} == {
        "no_purchase_days",
        "steps[0].templates.sms.ru",
        "steps[1].days",
        "steps[2].points",
        "steps[3].type",
    }
