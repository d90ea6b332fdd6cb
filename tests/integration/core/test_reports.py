"""Reports over a small seeded program whose every figure can be worked out by hand (see `seeded`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from shared import jobs
from shared.clock import FixedClock
from shared.core import Core
from shared.reports import REPORTS, Period, ReportResult
from tests.conftest import T0
from tests.integration.core.helpers import confirm, new_member, receipt

A, B, C, D, E = (f"+7912345000{i}" for i in range(1, 6))


@pytest.fixture
async def seeded(core: Core, clock: FixedClock) -> Core:
    """Period 2026-11-20..26 (Moscow). Before it: D (10 Nov) and E (24 May, whose 100 welcome points
    burn on 20 Nov). On 21 Nov A, B, C join (100 welcome points each); A and B consent to SMS and
    e-mail, but only A gave an address. Purchases on 22 Nov: A 1,000 ₽ (+50), B 25,000 ₽ (+1,250),
    one anonymous 1,000 ₽; on 23 Nov A pays 1,000 ₽ with 100 points (+45 on the 900 ₽ paid)."""
    for phone, at in (
        (E, datetime(2026, 5, 24, 9, 0, tzinfo=T0.tzinfo)),
        (D, datetime(2026, 11, 10, 9, 0, tzinfo=T0.tzinfo)),
    ):
        clock.at = at
        await new_member(core, phone)
    clock.at = T0 - timedelta(days=1)
    await new_member(core, A, email="a@example.com", consents={"sms": True, "email": True})
    await new_member(core, B, consents={"sms": True, "email": True})
    await new_member(core, C)
    clock.at = T0
    await confirm(core, receipt("R1", A, amount=100_000))
    await confirm(core, receipt("R3", B, amount=2_500_000))
    await confirm(core, receipt("R4", None, amount=100_000))
    await jobs.expire_due_lots(core, T0)
    clock.at = T0 + timedelta(days=1)
    answer, _ = await confirm(core, receipt("R2", A, amount=100_000, redeem=100))
    assert (answer["redeem"]["applied"], answer["accrue"]) == (100, 45)
    return core


async def run(core: Core, code: str, first: date = date(2026, 11, 20), last: date = date(2026, 11, 26)) -> ReportResult:
    async with core.reading() as session:
        return await REPORTS[code].compute(session, core.rules, Period(first, last, core.rules.zone))


async def test_members_over_time_counts_those_before_and_the_new_ones_per_day(seeded: Core) -> None:
    result = await run(seeded, "members")
    assert result.value == 5
    by_day = {row[0]: row[1:] for row in result.rows}
    assert by_day["2026-11-20"] == [0, 2]
    assert by_day["2026-11-21"] == [3, 5]
    assert by_day["2026-11-26"] == [0, 5]
    assert len(result.rows) == 7


async def test_identified_share_is_purchases_with_a_member_over_all(seeded: Core) -> None:
    result = await run(seeded, "identified")
    assert result.value == pytest.approx(3 / 4)
    assert result.headline.startswith("75.0%")
    by_day = {row[0]: row[1:] for row in result.rows}
    assert by_day["2026-11-22"] == [3, 2, pytest.approx(2 / 3, abs=1e-4)]
    assert by_day["2026-11-23"] == [1, 1, 1.0]


async def test_repeat_rate_is_members_with_two_purchases_over_members_with_one(seeded: Core) -> None:
    result = await run(seeded, "repeat")
    assert result.value == pytest.approx(1 / 2)
    assert result.rows == [["1", 1], ["2", 1], ["3", 0], ["4", 0], ["5+", 0]]
    narrower = await run(seeded, "repeat", last=date(2026, 11, 22))
    assert narrower.value == 0


async def test_redemption_rate_is_redeemed_over_accrued_and_bonuses(seeded: Core) -> None:
    result = await run(seeded, "redemption")
    assert result.value == pytest.approx(100 / (300 + 50 + 1250 + 45))
    by_day = {row[0]: row[1:3] for row in result.rows}
    assert by_day["2026-11-21"] == [0, 300]
    assert by_day["2026-11-22"] == [0, 1300]
    assert by_day["2026-11-23"] == [100, 45]


async def test_breakage_is_expired_over_points_that_became_available(seeded: Core) -> None:
    result = await run(seeded, "breakage")
    assert result.value == pytest.approx(100 / 1645)
    by_day = {row[0]: row[1:3] for row in result.rows}
    assert by_day["2026-11-22"] == [100, 0]  # E's welcome points burnt when the job ran
    assert by_day["2026-11-23"] == [0, 1300]  # R1 and R3 became available after 24 h
    assert by_day["2026-11-24"] == [0, 45]


async def test_liability_is_the_balance_of_every_member_times_the_point_value(seeded: Core) -> None:
    result = await run(seeded, "liability")
    assert result.value == 1645 * 100  # kopecks: 100 + 95 + 1,350 + 100 + 0 points
    assert "1 645.00 RUB" in result.headline
    by_day = {row[0]: row[1] for row in result.rows}
    assert by_day["2026-11-20"] == 200  # D and E (E's points burn only on the 22nd)
    assert by_day["2026-11-21"] == 500
    assert by_day["2026-11-22"] == 500 + 50 + 1250 - 100
    assert by_day["2026-11-26"] == 1645


async def test_contactable_share_needs_consent_and_an_address(seeded: Core) -> None:
    result = await run(seeded, "contactable")
    shares = {row[0]: row[1] for row in result.rows}
    assert shares == {"sms": 2, "viber": 0, "email": 1, "push": 0, "telegram": 0, "any": 2}
    assert result.value == pytest.approx(2 / 5)


async def test_tier_distribution_and_members_close_to_the_next_tier(seeded: Core) -> None:
    result = await run(seeded, "tiers")
    rows = {row[0]: row for row in result.rows}
    assert rows["standard"][2:] == [5, 1.0, 1]  # B's 25,000 ₽ is past 80% of Gold's 30,000 ₽
    assert rows["gold"][2] == 0


async def test_a_period_of_a_year_is_cut_into_at_most_31_buckets(seeded: Core) -> None:
    result = await run(seeded, "members", first=date(2025, 12, 1), last=date(2026, 11, 30))
    assert len(result.rows) <= 31
    assert result.rows[-1][2] == 5
    assert sum(row[1] for row in result.rows) == 5
