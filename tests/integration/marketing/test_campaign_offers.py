"""A campaign with a personal promotion: sending issues each recipient their offer (the control
group's held), texts show it as {{ offer }}, the till boosts only recipients' items, and the results
compare the offer's redemption and revenue against the control group."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from notifications.campaigns import create_campaign, preview, schedule_campaign
from notifications.campaigns.deferred import render_claimed
from notifications.campaigns.expansion import expand_campaign
from notifications.campaigns.results import attribution
from shared import purchases
from shared.core import Core
from shared.db.models.campaigns import CONTROL
from shared.db.models.messages import Message
from shared.db.models.offers import MemberRecommendation, PersonalOffer
from shared.errors import InvalidInput
from shared.promotions.definitions import create_promotion
from tests.integration.marketing.builders import member
from tests.integration.marketing.test_campaigns import assignments, segment

TEXTS = {"sms": {"ru": {"text": "{{ name }}, для вас: {{ offer }}"}}}
COFFEE = {"sku": "C-1", "name": "Coffee", "category": "coffee", "quantity": 1, "price": 10000, "amount": 10000}
BREAD = {"sku": "B-1", "name": "Bread", "category": "bakery", "quantity": 1, "price": 10000, "amount": 10000}


async def personal_promotion(core: Core) -> int:
    async with core.transaction() as session:
        body = {"name": "Для вас", "kind": "personal", "multiplier": 3, "offer_days": 14}
        return (await create_promotion(session, core.rules, body, core.clock.now())).id


async def buy(core: Core, member_id: uuid.UUID, *lines: dict[str, Any]) -> dict[str, Any]:
    body = {
        "store_id": "msk-001",
        "receipt_id": uuid.uuid4().hex[:20],
        "member": {"member_id": str(member_id)},
        "lines": list(lines),
    }
    async with core.transaction() as session:
        answer, _ = await purchases.confirm(session, core.clock, core.rules, body)
    return answer


async def test_recipients_get_the_offer_and_the_results_compare_it_with_the_control_group(core: Core) -> None:
    ids = [await member(core, i, first_name=f"Имя{i}") for i in range(40)]
    async with core.transaction() as session:
        for m in ids:
            session.add(
                MemberRecommendation(
                    member_id=m,
                    kind="category",
                    item="coffee",
                    category="coffee",
                    rank=1,
                    score=1.0,
                    computed_at=core.clock.now(),
                )
            )
    promotion = await personal_promotion(core)
    segment_id = await segment(core)
    async with core.transaction() as session:
        created = await create_campaign(
            session,
            name="For you",
            segment_id=segment_id,
            channels=["sms"],
            variants=[{"code": "A", "templates": TEXTS}],
            control_percent=50,
            promotion_id=promotion,
            now=core.clock.now(),
        )
        await schedule_campaign(session, created.id, core.clock.now(), core.clock.now())
    await expand_campaign(core, created.id, batch_size=7)
    groups = await assignments(core, created.id)
    treated = [m for m in ids if groups[m].variant == "A"]
    control = [m for m in ids if groups[m].variant == CONTROL]
    assert len(treated) > 4
    assert control
    async with core.reading() as session:
        offers = {o.member_id: o for o in (await session.execute(select(PersonalOffer))).scalars()}
    assert {m: o.held for m, o in offers.items()} == {m: m in control for m in ids}
    assert {o.campaign_id for o in offers.values()} == {created.id}

    # The text shows the recipient's own offer, rendered when the message goes out.
    async with core.transaction() as session:
        messages = list((await session.execute(select(Message).where(Message.member_id == treated[0]))).scalars())
        assert await render_claimed(session, core.settings, messages) == {}
        first = treated[0]
        shown = await preview(session, core.settings, created.id, first, "sms")
    assert messages[0].text == shown["text"]
    assert shown["text"].endswith("для вас: ×3 баллов на категорию «coffee» до 6 декабря")

    for m in treated[:4]:
        assert (await buy(core, m, COFFEE))["accrue"] == 15
    assert (await buy(core, treated[4], BREAD))["accrue"] == 5
    assert (await buy(core, control[0], COFFEE, BREAD))["accrue"] == 10  # held: never boosted
    async with core.reading() as session:
        report = await attribution(session, created.id)
    a, ctl = report["groups"]
    assert report["offers"] is True
    assert (a["group"], a["offers"], a["offers_redeemed"], a["offer_revenue"]) == ("A", len(treated), 4, 4 * 10000)
    assert (ctl["group"], ctl["offers"], ctl["offers_redeemed"], ctl["offer_revenue"]) == (
        CONTROL,
        len(control),
        1,
        10000,
    )
    assert a["offer_redemption"] == pytest.approx(100 * 4 / len(treated), abs=0.01)
    assert a["offer_uplift"] == pytest.approx(100 * 4 / len(treated) - 100 / len(control), abs=0.02)
    assert ctl["offer_uplift"] is None


async def test_a_campaign_offers_only_an_active_personal_promotion(core: Core) -> None:
    async with core.transaction() as session:
        discount = await create_promotion(
            session, core.rules, {"name": "d", "kind": "discount", "percent": 5}, core.clock.now()
        )
    segment_id = await segment(core)
    async with core.transaction() as session:
        with pytest.raises(InvalidInput) as caught:
            await create_campaign(
                session,
                name="x",
                segment_id=segment_id,
                channels=["sms"],
                variants=[{"code": "A", "templates": TEXTS}],
                promotion_id=discount.id,
                now=core.clock.now(),
            )
    assert [e.field for e in caught.value.errors] == ["promotion_id"]
