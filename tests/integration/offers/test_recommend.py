"""Recommendations: association figures on a basket set computed by hand, and what a member is
never offered (what they bought in the last 30 days, excluded and alcohol categories)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shared import purchases
from shared.clock import FixedClock
from shared.config import RecommendSettings
from shared.core import Core
from shared.db.models.offers import Association
from shared.members import Registration, register
from shared.offers import recommendations_for, recompute_recommendations

SKUS = {"coffee": "C1", "bakery": "B1", "cheese": "K1", "wine": "W1", "tobacco": "T1"}
_made = iter(range(1000))


async def _buy(core: Core, days_ago: int, categories: list[str], member: uuid.UUID | None = None) -> None:
    moment = core.clock.now() - timedelta(days=days_ago)
    lines = [
        {"sku": SKUS[c], "name": c, "category": c, "quantity": 1, "price": 10000, "amount": 10000} for c in categories
    ]
    body: dict[str, Any] = {
        "store_id": "s1",
        "receipt_id": f"R{next(_made)}",
        "purchased_at": moment.isoformat(),
        "lines": lines,
    }
    if member is not None:
        body["member"] = {"member_id": str(member)}
    async with core.transaction() as session:
        await purchases.confirm(session, FixedClock(moment), core.rules, body)


async def _member(core: Core, phone: str) -> uuid.UUID:
    async with core.transaction() as session:
        member, _ = await register(
            session, FixedClock(core.clock.now() - timedelta(days=90)), core.rules, Registration(phone=phone)
        )
        return member.id


async def _figures(core: Core, kind: str) -> dict[tuple[str, str], tuple[int, float, float, float]]:
    async with core.reading() as session:
        rows = (await session.execute(select(Association).where(Association.kind == kind))).scalars()
        return {(a.antecedent, a.consequent): (a.pair_baskets, a.support, a.confidence, a.lift) for a in rows}


async def test_support_confidence_and_lift_match_the_hand_computed_figures(core: Core) -> None:
    # 5 baskets: coffee 3, bakery 3, cheese 3, wine 2; coffee+bakery 2, wine+cheese 2,
    # coffee+cheese 1, wine+bakery 1, cheese+bakery 1. A basket older than 180 days does not count.
    for basket in (["coffee", "bakery"], ["coffee", "bakery"], ["coffee", "cheese"], ["wine", "cheese"]):
        await _buy(core, 20, basket)
    await _buy(core, 20, ["wine", "cheese", "bakery"])
    await _buy(core, 200, ["coffee", "wine"])
    async with core.transaction() as session:
        report = await recompute_recommendations(session, RecommendSettings(min_support=0), core.clock.now())
    assert report.baskets == {"sku": 5, "category": 5}
    assert report.associations == {"sku": 10, "category": 10}  # 5 pairs, both directions
    figures = await _figures(core, "category")
    assert figures[("coffee", "bakery")] == pytest.approx((2, 0.4, 2 / 3, 10 / 9))
    assert figures[("bakery", "coffee")] == pytest.approx((2, 0.4, 2 / 3, 10 / 9))
    assert figures[("wine", "cheese")] == pytest.approx((2, 0.4, 1.0, 5 / 3))
    assert figures[("cheese", "wine")] == pytest.approx((2, 0.4, 2 / 3, 5 / 3))
    assert figures[("bakery", "wine")] == pytest.approx((1, 0.2, 1 / 3, 5 / 6))
    assert figures[("coffee", "cheese")] == pytest.approx((1, 0.2, 1 / 3, 5 / 9))
    assert ("coffee", "wine") not in figures  # only together 200 days ago
    assert (await _figures(core, "sku"))[("W1", "K1")] == pytest.approx((2, 0.4, 1.0, 5 / 3))

    # minimum support 0.4 = 2 of 5 baskets keeps coffee+bakery and wine+cheese only
    async with core.transaction() as session:
        report = await recompute_recommendations(session, RecommendSettings(min_support=0.4), core.clock.now())
    assert set(await _figures(core, "category")) == {
        ("coffee", "bakery"),
        ("bakery", "coffee"),
        ("wine", "cheese"),
        ("cheese", "wine"),
    }


async def test_a_member_is_never_offered_what_they_bought_lately_nor_excluded_categories(core: Core) -> None:
    for basket in (["coffee", "bakery"], ["coffee", "bakery"], ["coffee", "tobacco"], ["coffee", "cheese"]):
        await _buy(core, 20, basket)
    await _buy(core, 20, ["wine", "cheese"])
    await _buy(core, 20, ["wine", "cheese", "bakery"])
    regular, newcomer = await _member(core, "+79160000101"), await _member(core, "+79160000102")
    await _buy(core, 60, ["coffee"], regular)
    await _buy(core, 10, ["wine", "cheese"], regular)
    await _buy(core, 60, ["cheese"], newcomer)

    async def offered(settings: RecommendSettings, member: uuid.UUID, kind: str = "category") -> set[str]:
        async with core.transaction() as session:
            await recompute_recommendations(session, settings, core.clock.now())
            return {r.item for r in await recommendations_for(session, member, kind)}

    # the regular bought wine and cheese 10 days ago (not offered again), coffee 60 days ago (offered);
    # tobacco goes with coffee but is excluded, wine is alcohol
    assert await offered(RecommendSettings(), regular) == {"bakery", "coffee"}
    assert await offered(RecommendSettings(), regular, "sku") == {"B1", "C1"}
    assert await offered(RecommendSettings(), newcomer) == {"bakery", "coffee"}
    allowed = RecommendSettings(alcohol_promotion_forbidden=False)
    assert await offered(allowed, newcomer) == {"bakery", "coffee", "wine"}
    assert await offered(allowed, regular) == {"bakery", "coffee"}  # wine bought 10 days ago
    anything = RecommendSettings(alcohol_promotion_forbidden=False, excluded_categories="")
    assert await offered(anything, regular) == {"bakery", "coffee", "tobacco"}
