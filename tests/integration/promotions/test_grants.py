"""Bonus grants: once per (grant, member) however often they run, with their own expiry and a
message the member hears."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from shared import jobs
from shared.core import Core
from shared.db.models import Entry, Lot, OutboxEvent, Segment, SegmentMember
from shared.promotions import grants
from tests.integration.core.helpers import member_row, new_member


async def make_grant(core: Core, **body: object) -> int:
    async with core.transaction() as session:
        return (await grants.create_grant(session, {"name": "We miss you", "points": 300, **body}, core.clock.now())).id


async def test_a_list_grant_runs_once_with_its_own_expiry(core: Core) -> None:
    anna = await new_member(core)
    boris = await new_member(core, phone="+79123456780")
    grant_id = await make_grant(
        core, expires_days=14, members=[str(anna.id), "8 912 345-67-80", boris.card_number, "+70000000000"]
    )
    first = await grants.run_grant(core, core.clock, core.rules, grant_id)
    second = await grants.run_grant(core, core.clock, core.rules, grant_id)
    assert (first["granted"], second["granted"], first["status"]) == (2, 2, "done")
    assert first["skipped"] == ["+70000000000"]
    assert (await member_row(core, anna.id)).available == 400
    assert (await member_row(core, boris.id)).available == 400
    async with core.reading() as session:
        lot = (await session.execute(select(Lot).where(Lot.member_id == anna.id, Lot.source == "grant"))).scalar_one()
        assert lot.expires_at == core.clock.now() + timedelta(days=14)
        assert (
            await session.execute(
                select(func.count())
                .select_from(Entry)
                .where(Entry.kind == "bonus", Entry.comment == "bonus: We miss you")
            )
        ).scalar_one() == 2
        events = (await session.execute(select(OutboxEvent).where(OutboxEvent.kind == "bonus_granted"))).scalars()
        assert sorted(e.payload["points"] for e in events) == [300, 300]
    core.clock.advance(days=15)  # type: ignore[attr-defined]
    await jobs.run_due(core, core.clock, core.rules)
    assert (await member_row(core, anna.id)).available == 100  # the burning bonus burnt; the welcome stays


async def test_a_segment_grant_run_twice_at_once_grants_nobody_twice(core: Core) -> None:
    members = [await new_member(core, phone=f"+7912345670{n}") for n in range(5)]
    async with core.transaction() as session:
        segment = Segment(
            name="Lapsed", definition={}, member_count=5, created_at=core.clock.now(), updated_at=core.clock.now()
        )
        session.add(segment)
        await session.flush()
        session.add_all([SegmentMember(segment_id=segment.id, member_id=m.id) for m in members])
        segment_id = segment.id
    grant_id = await make_grant(core, segment_id=segment_id)
    one = await grants.run_grant(core, core.clock, core.rules, grant_id)
    assert one["granted"] == 5
    await asyncio.gather(*(grants.run_grant(core, core.clock, core.rules, grant_id) for _ in range(2)))
    assert [(await member_row(core, m.id)).available for m in members] == [400] * 5
