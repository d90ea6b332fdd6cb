"""Each mechanic alone and in combination, through calculate / confirm / refund of the core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared import purchases
from shared.core import Core
from shared.db.models import Member, Segment, SegmentMember
from shared.promotions import definitions
from tests.integration.core.helpers import confirm, member_row, new_member, refund
from tests.integration.promotions.helpers import line, promotion, receipt

COFFEE, CROISSANT, WINE = line("c1", "coffee", 25000), line("p1", "pastry", 15000), line("w1", "wine", 150000)


async def calculate(core: Core, body: dict) -> dict:  # type: ignore[type-arg]
    async with core.reading() as session:
        return await purchases.calculate(session, core.clock, core.rules, body)


async def test_percent_discount_on_a_category_only(core: Core) -> None:
    await new_member(core)
    pid = await promotion(core, name="Pastry −20%", kind="discount", percent=20, categories=["pastry"])
    answer = await calculate(core, receipt("D-1", [COFFEE, CROISSANT]))
    assert [ln["discount"] for ln in answer["lines"]] == [0, 3000]
    assert answer["lines"][1]["promotions"] == [
        {"id": pid, "name": "Pastry −20%", "kind": "discount", "discount": 3000}
    ]
    assert answer["payable"] == 37000
    assert answer["accrue"] == 18


async def test_amount_off_is_spread_exactly_and_never_exceeds_the_lines(core: Core) -> None:
    await new_member(core)
    await promotion(core, name="100 ₽ off", kind="discount", amount=10000)
    answer = await calculate(core, receipt("D-2", [line("a", "x", 3333), line("b", "x", 6667), line("c", "x", 1)]))
    assert sum(ln["discount"] for ln in answer["lines"]) == 10000
    big = await calculate(core, receipt("D-3", [line("a", "x", 5000)]))
    assert big["discount"] == 5000
    assert big["payable"] == 0


async def test_priority_and_combinability(core: Core) -> None:
    await new_member(core)
    exclusive = await promotion(
        core, name="Closed sale −25%", kind="discount", percent=25, priority=5, combinable=False, categories=["wine"]
    )
    await promotion(core, name="Everything −10%", kind="discount", percent=10)
    answer = await calculate(core, receipt("S-1", [COFFEE, WINE]))
    # Wine takes the exclusive sale only; coffee gets the general one.
    assert [ln["discount"] for ln in answer["lines"]] == [2500, 37500]
    assert [p["id"] for p in answer["lines"][1]["promotions"]] == [exclusive]
    await promotion(core, name="Wine −5% first", kind="discount", percent=5, priority=9, categories=["wine"])
    again = await calculate(core, receipt("S-2", [COFFEE, WINE]))
    # The exclusive one now finds wine touched, so it stays off; −5% then −10% of the rest stack.
    assert again["lines"][1]["discount"] == 7500 + 14250


async def test_closed_sale_for_a_segment_and_store_and_tier_targeting(core: Core) -> None:
    member = await new_member(core)
    other = await new_member(core, phone="+79123456780")
    async with core.transaction() as session:
        segment = Segment(
            name="VIP", definition={}, member_count=1, created_at=core.clock.now(), updated_at=core.clock.now()
        )
        session.add(segment)
        await session.flush()
        session.add(SegmentMember(segment_id=segment.id, member_id=member.id))
        segment_id = segment.id
    await promotion(core, name="Closed sale", kind="discount", percent=15, segment_ids=[segment_id])
    await promotion(core, name="Store spb only", kind="discount", percent=50, store_ids=["spb-001"])
    await promotion(core, name="Platinum only", kind="discount", percent=50, tier_codes=["platinum"])
    assert (await calculate(core, receipt("T-1", [WINE])))["discount"] == 22500
    assert (await calculate(core, receipt("T-2", [WINE], phone=other.phone)))["discount"] == 0
    confirmed, _ = await confirm(core, receipt("T-5", [WINE]))  # confirm reads segments with the member lock
    assert confirmed["discount"] == 22500
    assert (await confirm(core, receipt("T-6", [WINE], phone=other.phone)))[0]["discount"] == 0
    assert (await calculate(core, receipt("T-3", [WINE], phone=None)))["discount"] == 0
    async with core.transaction() as session:
        await session.execute(update(Member).where(Member.id == other.id).values(tier_code="platinum"))
    assert (await calculate(core, receipt("T-4", [WINE], phone=other.phone)))["discount"] == 75000


async def test_validity_dates(core: Core) -> None:
    await new_member(core)
    now = core.clock.now()
    await promotion(core, name="Tomorrow", kind="discount", percent=10, starts_at=(now + timedelta(days=1)).isoformat())
    await promotion(core, name="Yesterday", kind="discount", percent=10, ends_at=now.isoformat())
    assert (await calculate(core, receipt("V-1", [WINE])))["discount"] == 0
    core.clock.advance(hours=23, minutes=55)  # type: ignore[attr-defined]
    assert (await calculate(core, receipt("V-2", [WINE])))["discount"] == 0
    core.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert (await calculate(core, receipt("V-3", [WINE])))["discount"] == 15000
    late = receipt("V-4", [WINE], purchased_at=(now - timedelta(minutes=1)).isoformat())
    assert (await calculate(core, late))["discount"] == 15000  # the purchase time decides, not the arrival


async def test_bundle_one_pastry_per_coffee(core: Core) -> None:
    await new_member(core)
    await promotion(
        core,
        name="−30% pastry with coffee",
        kind="bundle",
        percent=30,
        categories=["pastry"],
        with_categories=["coffee"],
    )
    alone = await calculate(core, receipt("B-1", [line("p1", "pastry", 15000, 2)]))
    assert alone["discount"] == 0
    one_coffee = await calculate(core, receipt("B-2", [COFFEE, line("p1", "pastry", 15000, 2)]))
    assert one_coffee["discount"] == 4500  # one of the two croissants
    two = await calculate(core, receipt("B-3", [line("c1", "coffee", 25000, 2), line("p1", "pastry", 15000, 3)]))
    assert two["discount"] == 9000


async def test_boosted_accrual_for_skus_and_for_receipt_totals(core: Core) -> None:
    await new_member(core)
    await promotion(core, name="+5% on w1", kind="accrual", extra_percent=5, skus=["w1"])
    await promotion(core, name="100 points over 1,500 ₽", kind="accrual", points=100, min_total=150000)
    small = await calculate(core, receipt("A-1", [COFFEE]))
    assert small["accrue"] == 12
    assert small["promotions"] == []
    big = await calculate(core, receipt("A-2", [COFFEE, WINE]))
    # 5% of 250 + 10% of 1,500 = 162.5 → 162, plus the 100 fixed points
    assert big["accrue"] == 262
    assert {p["name"]: p["points"] for p in big["promotions"]} == {"+5% on w1": 75, "100 points over 1,500 ₽": 100}


async def test_refund_of_a_bundled_item_returns_what_was_paid_for_it(core: Core) -> None:
    member = await new_member(core)
    await promotion(
        core,
        name="−30% pastry with coffee",
        kind="bundle",
        percent=30,
        categories=["pastry"],
        with_categories=["coffee"],
    )
    answer, _ = await confirm(core, receipt("R-1", [COFFEE, CROISSANT], redeem=50))
    assert answer["discount"] == 4500
    assert answer["redeem"]["applied"] == 50
    assert answer["accrue"] == 15  # 5% of (355 − 50) ₽ = 15.25
    # The croissant cost 105 ₽ of the 355 ₽ receipt: 105/355 of the points go back each way.
    done, _ = await refund(core, "R-1", {"refund_id": "F-1", "lines": [{"sku": "p1", "quantity": 1}]})
    assert (done["points_reversed"], done["points_restored"]) == (15 * 10500 // 35500, 50 * 10500 // 35500)
    rest, _ = await refund(core, "R-1", {"refund_id": "F-2", "lines": [{"sku": "c1", "quantity": 1}]})
    assert done["points_reversed"] + rest["points_reversed"] == 15
    assert done["points_restored"] + rest["points_restored"] == 50
    with pytest.raises(Exception, match=r"Nothing left|More of"):
        await refund(core, "R-1", {"refund_id": "F-3", "lines": [{"sku": "c1", "quantity": 1}]})
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (100, 0)


async def test_promotion_limits_in_all_and_per_member(core: Core) -> None:
    await new_member(core)
    await new_member(core, phone="+79123456780")
    pid = await promotion(
        core, name="First two receipts", kind="discount", percent=10, max_uses=2, max_uses_per_member=1
    )
    first, _ = await confirm(core, receipt("L-1", [WINE]))
    second, _ = await confirm(core, receipt("L-2", [WINE]))
    assert (first["discount"], second["discount"]) == (15000, 0)  # once per member
    third, _ = await confirm(core, receipt("L-3", [WINE], phone="+79123456780"))
    fourth, _ = await confirm(core, receipt("L-4", [WINE], phone=None))
    assert (third["discount"], fourth["discount"]) == (15000, 0)
    async with core.reading() as session:
        assert (await definitions.get_promotion(session, pid)).uses == 2
    await refund(core, "L-1", {"refund_id": "F-1", "amount": 135000})
    async with core.reading() as session:
        assert (await definitions.get_promotion(session, pid)).uses == 1  # a full refund gives the use back


async def test_a_change_through_the_service_is_seen_by_the_next_receipt(core: Core) -> None:
    await new_member(core)
    pid = await promotion(core, name="−10%", kind="discount", percent=10)
    assert (await calculate(core, receipt("C-1", [WINE])))["discount"] == 15000
    async with core.transaction() as session:
        await definitions.update_promotion(session, core.rules, pid, {"active": False}, core.clock.now())
    assert (await calculate(core, receipt("C-2", [WINE])))["discount"] == 0
    async with core.reading() as session:
        assert (await session.execute(select(Member.id))).first() is not None
