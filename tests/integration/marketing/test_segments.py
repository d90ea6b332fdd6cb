"""The segment builder: each filter selects the members a marketer expects, the count follows
the filters, and saving writes the snapshot promotions read."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from shared.core import Core
from shared.db.models import SegmentMember
from shared.errors import Conflict, InvalidInput
from shared.segments import count_members, named_segment, rfm_distribution, save_segment
from tests.integration.marketing.builders import bought, days_ago, member


async def count(core: Core, definition: dict[str, object]) -> int:
    async with core.reading() as session:
        return await count_members(session, core.rules, definition, core.clock.now())


async def test_bad_definitions_name_each_field(core: Core) -> None:
    with pytest.raises(InvalidInput) as caught:
        await count(
            core,
            {
                "tiers": ["diamond"],
                "spend_min": -1,
                "birthday_from": "13-01",
                "channels": ["fax"],
                "purchases_min": 5,
                "purchases_max": 2,
                "colour": "red",
                "rfm_segments": ["stars"],
            },
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {
        "tiers",
        "spend_min",
        "birthday_from",
        "birthday_to",
        "channels",
        "purchases_max",
        "colour",
        "rfm_segments",
    }


async def test_filters_select_the_expected_members(core: Core) -> None:
    loyal = await member(core, 1, consents=("sms", "email"), email="a@example.org", birth_date=date(1990, 12, 30))
    lapsed = await member(core, 2, consents=(), birth_date=date(1985, 1, 3), referral="flyer")
    fresh = await member(core, 3, consents=("telegram",), telegram_user_id=555, created=days_ago(core, 2))
    await member(core, 4, created=days_ago(core, 400))  # never bought
    for i in range(5):
        await bought(core, loyal, days_ago(core, 3 + i), 2_000_00)
    await bought(core, lapsed, days_ago(core, 90), 500_00)
    await bought(core, lapsed, days_ago(core, 400), 9_000_00)  # outside the 365-day window
    await bought(core, fresh, days_ago(core, 1), 100_00)

    assert await count(core, {}) == 4
    assert await count(core, {"spend_min": 5_000_00}) == 1  # loyal: 10,000 ₽
    assert await count(core, {"spend_max": 1_000_00}) == 3  # lapsed, fresh, never (0)
    assert await count(core, {"spend_min": 9_000_00, "window_days": 500}) == 2  # lapsed's old purchase counts now
    assert await count(core, {"purchases_min": 1, "purchases_max": 1}) == 2
    assert await count(core, {"last_purchase_days_min": 60}) == 2  # lapsed, and never bought
    assert await count(core, {"last_purchase_days_max": 7}) == 2
    assert await count(core, {"birthday_from": "12-25", "birthday_to": "01-05"}) == 2  # over the new year
    assert await count(core, {"birthday_from": "12-31", "birthday_to": "12-31"}) == 0
    assert await count(core, {"registration_sources": ["flyer"]}) == 1
    today = core.clock.now().date()
    assert await count(core, {"registered_from": (today.replace(day=1)).isoformat()}) == 3
    assert await count(core, {"registered_to": date(2025, 12, 31).isoformat()}) == 1
    assert await count(core, {"channels": ["email"]}) == 1
    assert await count(core, {"channels": ["telegram", "email"]}) == 2
    assert await count(core, {"channels": ["sms"]}) == 2  # lapsed and fresh gave none
    assert await count(core, {"channels": ["sms"], "consent": False}) == 4
    assert await count(core, {"tiers": ["standard"], "channels": ["sms"], "last_purchase_days_max": 30}) == 1


async def test_saving_writes_the_snapshot_and_updating_replaces_it(core: Core) -> None:
    a = await member(core, 1)
    b = await member(core, 2)
    await bought(core, a, days_ago(core, 1), 100_00)
    async with core.transaction() as session:
        saved = await save_segment(session, core.rules, "Buyers", {"purchases_min": 1}, core.clock.now())
    assert saved.member_count == 1
    assert saved.definition == {"purchases_min": 1}
    async with core.transaction() as session:
        with pytest.raises(Conflict):
            await save_segment(session, core.rules, "Buyers", {}, core.clock.now())
    async with core.transaction() as session:
        updated = await save_segment(session, core.rules, "Everyone", {}, core.clock.now(), segment_id=saved.id)
    async with core.reading() as session:
        members = set(
            (
                await session.execute(select(SegmentMember.member_id).where(SegmentMember.segment_id == saved.id))
            ).scalars()
        )
    assert updated.member_count == 2
    assert members == {a, b}


async def test_rfm_scores_by_quintile_and_names_the_standard_segments(core: Core) -> None:
    # member i (0..9) bought i+1 times, the last time 10*(10-i) days ago: the higher i, the better on R, F and M
    ids = []
    for i in range(10):
        member_id = await member(core, i)
        ids.append(member_id)
        for k in range(i + 1):
            await bought(core, member_id, days_ago(core, 10 * (10 - i) + k), 1_000_00)
    never = await member(core, 99)
    assert await count(core, {"rfm_segments": ["champions"]}) == 2  # the top two on R and F
    assert await count(core, {"rfm_segments": ["hibernating"]}) == 4  # R 1-2 and F 1-2
    assert await count(core, {"r_scores": [5], "m_scores": [5]}) == 2
    assert await count(core, {"rfm_segments": ["champions", "loyal_customers", "need_attention", "hibernating"]}) == 10
    assert await count(core, {"r_scores": [1, 2, 3, 4, 5]}) == 10  # never bought: no RFM scores
    async with core.reading() as session:
        overview = {
            row["segment"]: row["members"] for row in await rfm_distribution(session, core.rules, core.clock.now())
        }
    assert overview["champions"] == 2
    assert sum(overview.values()) == 10
    assert never not in ids


def test_the_grid_names_every_cell_once() -> None:
    names = [named_segment(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert names.count("champions") == 2
    assert names.count("hibernating") == 4
    assert named_segment(5, 1) == "new_customers"
    assert named_segment(1, 5) == "cant_lose_them"
