"""Purchases through the core services: accrual, redemption, tiers, refunds, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared import jobs
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Entry, Lot, OutboxEvent, Purchase
from shared.errors import Conflict, InvalidInput, NotEnoughPoints, NotFound
from tests.integration.core.helpers import confirm, member_row, new_member, receipt, refund


async def events(core: Core, kind: str | None = None) -> list[OutboxEvent]:
    async with core.reading() as session:
        stmt = select(OutboxEvent).order_by(OutboxEvent.id)
        if kind:
            stmt = stmt.where(OutboxEvent.kind == kind)
        return list((await session.execute(stmt)).scalars())


async def entry_sum(core: Core, member_id: object) -> int:
    async with core.reading() as session:
        return int(
            (
                await session.execute(
                    select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member_id)
                )
            ).scalar_one()
        )


async def test_registration_gives_a_card_and_the_welcome_bonus_at_once(core: Core) -> None:
    member = await new_member(core, first_name="Anna")
    assert member.available == 100
    assert member.pending == 0
    assert len(member.card_number) == 13
    assert [e.kind for e in await events(core)] == ["member_registered"]


async def test_accrual_is_pending_for_24_hours_then_available(core: Core, clock: FixedClock) -> None:
    member = await new_member(core)
    answer, created = await confirm(core, receipt("R1"))
    assert created
    assert answer["accrue"] == 50
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (100, 50)
    clock.advance(hours=23, minutes=59)
    await jobs.run_due(core, clock, core.rules)
    assert (await member_row(core, member.id)).pending == 50
    clock.advance(minutes=1)
    report = await jobs.run_due(core, clock, core.rules)
    assert report.activated == 1
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (150, 0)
    assert [e.payload["points"] for e in await events(core, "points_available")] == [50]
    again = await jobs.run_due(core, clock, core.rules)
    assert (again.activated, again.expired, again.tier_changes) == (0, 0, 0)


async def test_points_burn_180_days_after_they_became_available(core: Core, clock: FixedClock) -> None:
    member = await new_member(core)
    clock.advance(days=180)
    report = await jobs.run_due(core, clock, core.rules)
    assert report.expired == 1
    assert (await member_row(core, member.id)).available == 0
    assert await entry_sum(core, member.id) == 0
    assert (await jobs.run_due(core, clock, core.rules)).expired == 0


async def test_expiring_notice_once_per_set_of_lots(core: Core, clock: FixedClock) -> None:
    await new_member(core)
    clock.advance(days=174)
    assert (await jobs.run_due(core, clock, core.rules)).expiring_notices == 1
    await jobs.run_due(core, clock, core.rules)
    notices = await events(core, "points_expiring")
    assert len(notices) == 1
    assert notices[0].payload["points"] == 100


async def test_redemption_spends_the_soonest_expiring_lot_first(core: Core, clock: FixedClock) -> None:
    member = await new_member(core)  # 100 points expiring at T0+180d
    await confirm(core, receipt("R1", amount=400000))  # 200 points, available at T0+1d
    clock.advance(days=2)
    await jobs.run_due(core, clock, core.rules)
    await confirm(core, receipt("R2", amount=20000, redeem=120))
    async with core.reading() as session:
        lots = (await session.execute(select(Lot).where(Lot.member_id == member.id).order_by(Lot.id))).scalars().all()
    welcome, first = lots[0], lots[1]
    assert (welcome.remaining, welcome.status) == (0, "spent")
    assert first.remaining == 180


async def test_cap_limits_redemption_and_confirm_refuses_more(core: Core) -> None:
    await new_member(core)
    calc, _ = await confirm(core, receipt("R1", amount=10000, redeem="max"))
    assert calc["redeem"] == {"requested": "max", "applied": 70, "max": 70}  # 70% of 100 ₽
    with pytest.raises(NotEnoughPoints) as caught:
        await confirm(core, receipt("R2", amount=10000, redeem=71))
    assert caught.value.extra["max"] == 30  # 30 points left after R1
    assert len(await events(core, "points_redeemed")) == 1  # the refused receipt wrote nothing


async def test_tier_crossing_earns_the_old_rate_and_upgrades_right_after(core: Core) -> None:
    member = await new_member(core)
    first, _ = await confirm(core, receipt("R1", amount=2900000))
    assert first["balance"]["tier"]["code"] == "standard"
    crossing, _ = await confirm(core, receipt("R2", amount=200000))
    assert crossing["accrue"] == 100  # 5% of 2,000 ₽: the old rate
    assert crossing["balance"]["tier"]["code"] == "gold"
    assert (await member_row(core, member.id)).tier_code == "gold"
    after, _ = await confirm(core, receipt("R3", amount=100000))
    assert after["accrue"] == 100  # 10% of 1,000 ₽
    assert [e.payload["to"] for e in await events(core, "tier_changed")] == ["gold"]


async def test_downgrade_happens_only_on_recompute(core: Core, clock: FixedClock) -> None:
    member = await new_member(core)
    await confirm(core, receipt("R1", amount=3000000))
    assert (await member_row(core, member.id)).tier_code == "gold"
    clock.advance(days=366)
    assert (await member_row(core, member.id)).tier_code == "gold"
    report = await jobs.run_due(core, clock, core.rules)
    assert report.tier_changes == 1
    assert (await member_row(core, member.id)).tier_code == "standard"
    assert (await jobs.run_due(core, clock, core.rules)).tier_changes == 0


async def test_retry_returns_the_original_answer_and_a_different_body_conflicts(core: Core) -> None:
    member = await new_member(core)
    first, created = await confirm(core, receipt("R1"))
    again, created_again = await confirm(core, receipt("R1"))
    assert created
    assert not created_again
    assert again == first
    with pytest.raises(Conflict):
        await confirm(core, receipt("R1", amount=50000))
    assert (await member_row(core, member.id)).pending == 50
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(Purchase))).scalar_one() == 1


async def test_offline_receipt_is_pending_from_its_purchase_time(core: Core, clock: FixedClock) -> None:
    member = await new_member(core)
    bought = (clock.now() - timedelta(hours=30)).isoformat()
    answer, _ = await confirm(core, receipt("OFF-1", purchased_at=bought))
    assert answer["accrue"] == 50
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (150, 0)  # 24 h have already passed since the purchase


async def test_receipt_from_the_future_is_refused(core: Core, clock: FixedClock) -> None:
    await new_member(core)
    with pytest.raises(InvalidInput) as caught:
        await confirm(core, receipt("F-1", purchased_at=(clock.now() + timedelta(hours=1)).isoformat()))
    assert caught.value.errors[0].field == "purchased_at"


async def test_unknown_member_is_not_found(core: Core) -> None:
    with pytest.raises(NotFound):
        await confirm(core, receipt("R1", phone="+79000000000"))


async def test_full_refund_reverses_accrual_and_restores_redemption(core: Core) -> None:
    member = await new_member(core)
    answer, _ = await confirm(core, receipt("R1", amount=10000, redeem=70))
    assert answer["accrue"] == 1  # 5% of the 30 ₽ paid in money
    result, created = await refund(core, "R1", {"refund_id": "X1", "amount": 10000})
    assert created
    assert (result["points_reversed"], result["points_restored"]) == (1, 70)
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (100, 0)
    assert await entry_sum(core, member.id) == 100
    replay, created_again = await refund(core, "R1", {"refund_id": "X1", "amount": 10000})
    assert not created_again
    assert replay == result
    with pytest.raises(Conflict):
        await refund(core, "R1", {"refund_id": "X1", "amount": 5000})


async def test_partial_refunds_round_down_per_receipt_and_sum_to_the_whole(core: Core) -> None:
    await new_member(core)
    await confirm(core, receipt("R1", amount=30000, redeem=21))  # 279 ₽ paid → 13.95 → 13 points
    first, _ = await refund(core, "R1", {"refund_id": "A", "amount": 10000})
    second, _ = await refund(core, "R1", {"refund_id": "B", "amount": 10000})
    third, _ = await refund(core, "R1", {"refund_id": "C", "amount": 10000})
    reversed_ = [r["points_reversed"] for r in (first, second, third)]
    restored = [r["points_restored"] for r in (first, second, third)]
    assert reversed_ == [4, 4, 5]
    assert sum(reversed_) == 13
    assert restored == [7, 7, 7]
    with pytest.raises(InvalidInput):
        await refund(core, "R1", {"refund_id": "D", "amount": 1})


async def test_refund_by_lines_checks_quantities(core: Core) -> None:
    await new_member(core)
    body = {
        "store_id": "msk-001",
        "receipt_id": "L1",
        "member": {"phone": "+79123456789"},
        "lines": [
            {"sku": "a", "quantity": 2, "price": 10000, "amount": 20000},
            {"sku": "b", "quantity": 1.5, "price": 10000, "amount": 15000},
        ],
    }
    await confirm(core, body)
    done, _ = await refund(core, "L1", {"refund_id": "1", "lines": [{"sku": "a", "quantity": 1}]})
    assert done["points_reversed"] == 4  # 17 points × 100/350 = 4.86, rounded down
    with pytest.raises(InvalidInput):
        await refund(core, "L1", {"refund_id": "2", "lines": [{"sku": "a", "quantity": 2}]})
    with pytest.raises(InvalidInput):
        await refund(core, "L1", {"refund_id": "3", "lines": [{"sku": "zzz", "quantity": 1}]})


async def test_refund_after_the_points_were_spent_leaves_a_debt_that_new_points_repay(
    core: Core, clock: FixedClock
) -> None:
    member = await new_member(core)
    await confirm(core, receipt("R1", amount=400000))  # +200 pending
    clock.advance(days=1)
    await jobs.run_due(core, clock, core.rules)  # 300 available
    await confirm(core, receipt("R2", amount=50000, redeem=300))  # all 300 spent; +10 pending
    row = await member_row(core, member.id)
    assert row.available == 0
    await refund(core, "R1", {"refund_id": "back", "amount": 400000})
    row = await member_row(core, member.id)
    assert (row.available, row.debt) == (-200, 200)
    assert await entry_sum(core, member.id) == row.available + row.pending
    await confirm(core, receipt("R3", amount=600000))  # +300 pending
    clock.advance(days=1)
    await jobs.run_due(core, clock, core.rules)
    row = await member_row(core, member.id)
    assert (row.available, row.debt) == (110, 0)  # 10 + 300 became available, 200 repaid the debt


async def test_unknown_receipt_refund_is_not_found(core: Core) -> None:
    with pytest.raises(NotFound):
        await refund(core, "nope", {"refund_id": "1", "amount": 100})


async def test_anonymous_receipt_is_recorded_once(core: Core) -> None:
    body = receipt("ANON-1", phone=None)
    first, created = await confirm(core, body)
    again, created_again = await confirm(core, body)
    assert created
    assert not created_again
    assert first == again
    assert first["accrue"] == 0
    assert first["balance"] is None


async def test_birthday_rate_in_the_window(core: Core) -> None:
    from datetime import date

    await new_member(core, birth_date=date(1990, 11, 23))  # T0 is 22 November
    answer, _ = await confirm(core, receipt("B1"))
    assert answer["accrue"] == 140
    assert answer["accrual_percent"] == 14
    assert any("14%" in line for line in answer["receipt_text"])
