"""Personal offers: issued from each member's top recommendation (idempotently), priced at the till
through the API's confirm with the reason on the line and the receipt, never for another member or
after the offer ends, and listed for the till by GET /api/v1/members/{id}/offers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Segment, SegmentMember
from shared.db.models.offers import MemberRecommendation, PersonalOffer
from shared.offers.personal import issue_offers, member_audience, segment_audience

ANNA, BORIS = "+79123456701", "+79123456702"
COFFEE = {"sku": "C-1", "name": "Coffee", "category": "coffee", "quantity": 1, "price": 10000, "amount": 10000}
BREAD = {"sku": "B-1", "name": "Bread", "category": "bakery", "quantity": 1, "price": 10000, "amount": 10000}
_receipts = iter(range(10_000))


async def member(client: httpx.AsyncClient, phone: str) -> uuid.UUID:
    r = await client.post("/api/v1/members", json={"phone": phone})
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def recommend(core: Core, member_id: uuid.UUID, kind: str, item: str, rank: int = 1) -> None:
    async with core.transaction() as session:
        session.add(
            MemberRecommendation(
                member_id=member_id,
                kind=kind,
                item=item,
                category=item if kind == "category" else None,
                rank=rank,
                score=1.0,
                computed_at=core.clock.now(),
            )
        )


async def personal_promotion(client: httpx.AsyncClient, **extra: Any) -> int:
    r = await client.post(
        "/api/v1/promotions",
        json={"name": "Для вас ×3", "kind": "personal", "multiplier": 3, "offer_days": 14, **extra},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def receipt(phone: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "store_id": "msk-001",
        "receipt_id": f"P-{next(_receipts)}",
        "member": {"phone": phone},
        "lines": list(lines),
    }


async def offer_row(core: Core, member_id: uuid.UUID) -> PersonalOffer:
    async with core.reading() as session:
        return (await session.execute(select(PersonalOffer).where(PersonalOffer.member_id == member_id))).scalar_one()


async def test_the_members_offer_is_priced_at_the_till_with_its_reason(core: Core, client: httpx.AsyncClient) -> None:
    anna, boris = await member(client, ANNA), await member(client, BORIS)
    await recommend(core, anna, "category", "coffee")
    await recommend(core, anna, "sku", "C-1")
    await recommend(core, boris, "category", "tea")
    promotion = await personal_promotion(client)
    async with core.transaction() as session:
        assert await issue_offers(session, promotion, member_audience(anna), core.clock.now()) == 1
        assert await issue_offers(session, promotion, member_audience(boris), core.clock.now()) == 1

    r = await client.post("/api/v1/purchases", json=receipt(ANNA, COFFEE, BREAD))
    assert r.status_code == 201, r.text
    answer = r.json()
    # Standard earns 5%: 5 points on each 100.00 line; her coffee earns three times that.
    assert [line["accrue"] for line in answer["lines"]] == [15, 5]
    assert answer["accrue"] == 20
    assert answer["lines"][0]["promotions"] == [
        {"id": promotion, "name": "Для вас ×3: coffee", "kind": "personal", "points": 10}
    ]
    assert answer["lines"][1]["promotions"] == []
    assert "Для вас «Для вас ×3: coffee»: +10 баллов" in answer["receipt_text"]
    offer = await offer_row(core, anna)
    assert (offer.redeemed_at, offer.purchase_id) == (core.clock.now(), uuid.UUID(answer["purchase_id"]))
    assert (offer.receipts, offer.revenue) == (1, 10000)

    # Boris's offer is tea: his coffee earns the plain rate.
    theirs = await client.post("/api/v1/purchases", json=receipt(BORIS, COFFEE))
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["accrue"] == 5
    assert theirs.json()["lines"][0]["promotions"] == []

    # Past its 14 days Anna's coffee earns the plain rate again, and nothing is recorded on the offer.
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(days=14)
    late = await client.post("/api/v1/purchases", json=receipt(ANNA, COFFEE))
    assert late.status_code == 201, late.text
    assert late.json()["accrue"] == 5
    assert (await offer_row(core, anna)).receipts == 1


async def test_calculate_prices_the_offer_and_a_switched_off_promotion_stops_it(
    core: Core, client: httpx.AsyncClient
) -> None:
    anna = await member(client, ANNA)
    await recommend(core, anna, "sku", "C-1")
    promotion = await personal_promotion(client, multiplier=0, extra_percent=10)
    async with core.transaction() as session:
        await issue_offers(session, promotion, member_audience(anna), core.clock.now())
    r = await client.post("/api/v1/purchases/calculate", json=receipt(ANNA, COFFEE))
    assert r.status_code == 200, r.text
    assert r.json()["accrue"] == 15  # 5% + 10% extra on her SKU
    assert (await client.patch(f"/api/v1/promotions/{promotion}", json={"active": False})).status_code == 200
    r = await client.post("/api/v1/purchases/calculate", json=receipt(ANNA, COFFEE))
    assert r.json()["accrue"] == 5


async def test_a_held_offer_is_never_priced_but_its_purchases_are_counted(
    core: Core, client: httpx.AsyncClient
) -> None:
    anna = await member(client, ANNA)
    await recommend(core, anna, "category", "coffee")
    promotion = await personal_promotion(client)
    async with core.transaction() as session:
        held = select(SegmentMember.member_id.label("member_id"), SegmentMember.member_id.is_not(None).label("held"))
        session.add(Segment(name="all", definition={}, created_at=core.clock.now(), updated_at=core.clock.now()))
        await session.flush()
        segment = (await session.execute(select(Segment.id))).scalar_one()
        session.add(SegmentMember(segment_id=segment, member_id=anna))
        await session.flush()
        assert await issue_offers(session, promotion, held.where(SegmentMember.segment_id == segment), core.clock.now())
    r = await client.post("/api/v1/purchases", json=receipt(ANNA, COFFEE, BREAD))
    assert r.json()["accrue"] == 10
    offer = await offer_row(core, anna)
    assert offer.held
    assert (offer.receipts, offer.revenue) == (1, 10000)
    assert (await client.get(f"/api/v1/members/{anna}/offers")).json() == {"items": []}


async def test_issuing_to_a_segment_is_idempotent_and_skips_members_without_recommendations(
    core: Core, client: httpx.AsyncClient
) -> None:
    anna, boris = await member(client, ANNA), await member(client, BORIS)
    await recommend(core, anna, "category", "coffee")
    await recommend(core, anna, "category", "tea", rank=2)
    promotion = await personal_promotion(client)
    async with core.transaction() as session:
        session.add(Segment(name="all", definition={}, created_at=core.clock.now(), updated_at=core.clock.now()))
        await session.flush()
        segment = (await session.execute(select(Segment.id))).scalar_one()
        session.add_all([SegmentMember(segment_id=segment, member_id=m) for m in (anna, boris)])
    first = await client.post(f"/api/v1/promotions/{promotion}/offers", json={"segment_id": segment})
    assert first.status_code == 201, first.text
    assert first.json() == {"issued": 1}
    await recommend(core, anna, "sku", "C-1")  # a new recommendation later changes nothing issued
    async with core.transaction() as session:
        assert await issue_offers(session, promotion, segment_audience(segment), core.clock.now()) == 0
    again = await client.post(f"/api/v1/promotions/{promotion}/offers", json={"segment_id": segment})
    assert again.json() == {"issued": 0}
    async with core.reading() as session:
        rows = (await session.execute(select(PersonalOffer.member_id, PersonalOffer.item))).all()
    assert rows == [(anna, "coffee")]
    unknown = await client.post(f"/api/v1/promotions/{promotion}/offers", json={"segment_id": segment + 1})
    assert unknown.status_code == 422
    discount = await client.post("/api/v1/promotions", json={"name": "d", "kind": "discount", "percent": 5})
    wrong = await client.post(f"/api/v1/promotions/{discount.json()['id']}/offers", json={"segment_id": segment})
    assert wrong.status_code == 422


async def test_the_till_lists_the_members_current_offers(core: Core, client: httpx.AsyncClient) -> None:
    anna = await member(client, ANNA)
    await recommend(core, anna, "category", "coffee")
    promotion = await personal_promotion(client)
    async with core.transaction() as session:
        await issue_offers(session, promotion, member_audience(anna), core.clock.now())
    r = await client.get(f"/api/v1/members/{anna}/offers")
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert {k: item[k] for k in ("promotion_id", "kind", "item", "multiplier", "extra_percent", "redeemed")} == {
        "promotion_id": promotion,
        "kind": "category",
        "item": "coffee",
        "multiplier": 3,
        "extra_percent": 0,
        "redeemed": False,
    }
    # T0 is 22 November 09:00 UTC; 14 days later, the last day in Moscow is 6 December.
    assert item["text"] == "×3 баллов на категорию «coffee» до 6 декабря"
    assert (await client.get(f"/api/v1/members/{uuid.uuid4()}/offers")).status_code == 404
    assert (await client.get("/api/v1/members/not-an-id/offers")).status_code == 404
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(days=14)
    assert (await client.get(f"/api/v1/members/{anna}/offers")).json() == {"items": []}
