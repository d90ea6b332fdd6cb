"""The issue's "done when": a marketer describes three promotions through the API in minutes, and a
till's calculate prices a mixed receipt with all three and explains it line by line."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from shared.core import Core
from shared.db.models import Member

PHONE = "+79123456789"
COFFEE = {"sku": "4607001", "name": "Coffee", "category": "coffee", "quantity": 1, "price": 25000, "amount": 25000}
CROISSANT = {
    "sku": "4607100",
    "name": "Croissant",
    "category": "pastry",
    "quantity": 1,
    "price": 15000,
    "amount": 15000,
}
WINE = {"sku": "4607300", "name": "Rioja", "category": "wine", "quantity": 1, "price": 150000, "amount": 150000}


async def describe_the_three(client: httpx.AsyncClient) -> dict[str, int]:
    pastry = await client.post(
        "/api/v1/promotions",
        json={
            "name": "−30% на выпечку с кофе",
            "kind": "bundle",
            "percent": 30,
            "priority": 10,
            "categories": ["pastry"],
            "with_categories": ["coffee"],
        },
    )
    wine = await client.post(
        "/api/v1/promotions",
        json={
            "name": "2× баллы на вино",
            "kind": "accrual",
            "multiplier": 2,
            "categories": ["wine"],
            "tier_codes": ["gold"],
            "starts_at": "2026-11-21T00:00:00+03:00",
            "ends_at": "2026-11-23T00:00:00+03:00",
        },
    )
    autumn = await client.post(
        "/api/v1/promotions",
        json={"name": "AUTUMN: 500 баллов", "kind": "discount", "amount": 50000, "code_only": True},
    )
    for r in (pastry, wine, autumn):
        assert r.status_code == 201, r.text
    code = await client.post(
        f"/api/v1/promotions/{autumn.json()['id']}/code-batches",
        json={"kind": "shared", "code": "AUTUMN", "total_limit": 1000, "per_member_limit": 1},
    )
    assert code.status_code == 201, code.text
    return {"pastry": pastry.json()["id"], "wine": wine.json()["id"], "autumn": autumn.json()["id"]}


def receipt(receipt_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "store_id": "msk-001",
        "receipt_id": receipt_id,
        "member": {"phone": PHONE},
        "lines": [COFFEE, CROISSANT, WINE],
        "redeem": 0,
        "promo_code": "autumn",
        **extra,
    }


async def test_a_mixed_receipt_with_all_three_is_priced_and_explained(core: Core, client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/members", json={"phone": PHONE})).status_code == 201
    async with core.transaction() as session:
        await session.execute(update(Member).values(tier_code="gold"))
    ids = await describe_the_three(client)

    r = await client.post("/api/v1/purchases/calculate", json=receipt("MIX-1"))
    assert r.status_code == 200, r.text
    answer = r.json()
    # −30% of the croissant (4,500); then 500 ₽ off the rest spread by what is left of each line.
    assert [line["discount"] for line in answer["lines"]] == [6739, 4500 + 2830, 40431]
    assert answer["discount"] == 54500
    assert answer["payable"] == 190000 - 54500
    # Gold earns 10%; wine twice that: 18.26 + 7.67 + 219.14 = 245 points (rounded down once).
    assert answer["accrue"] == 245
    assert [line["accrue"] for line in answer["lines"]] == [18, 8, 219]
    assert answer["promo_code"] == {"code": "autumn", "applied": True, "reason": None}
    coffee, croissant, wine = ([p["id"] for p in line["promotions"]] for line in answer["lines"])
    assert coffee == [ids["autumn"]]
    assert croissant == [ids["pastry"], ids["autumn"]]
    assert wine == [ids["autumn"], ids["wine"]]
    assert answer["lines"][2]["promotions"][1] == {
        "id": ids["wine"],
        "name": "2× баллы на вино",
        "kind": "accrual",
        "points": 109,
    }
    assert {p["id"]: (p["discount"], p["points"]) for p in answer["promotions"]} == {
        ids["pastry"]: (4500, 0),
        ids["autumn"]: (50000, 0),
        ids["wine"]: (0, 109),
    }
    assert answer["receipt_text"][:4] == [
        "Акция «−30% на выпечку с кофе»: скидка 45.00",
        "Акция «AUTUMN: 500 баллов»: скидка 500.00",
        "Акция «2× баллы на вино»: +109 баллов",
        "Промокод autumn применён",
    ]

    confirmed = await client.post("/api/v1/purchases", json=receipt("MIX-1"))
    assert confirmed.status_code == 201, confirmed.text
    assert {k: v for k, v in confirmed.json().items() if k not in ("purchase_id", "balance", "receipt_text")} == {
        k: v for k, v in answer.items() if k != "receipt_text"
    }
    again = await client.post("/api/v1/purchases/calculate", json=receipt("MIX-2"))
    assert again.json()["promo_code"] == {
        "code": "autumn",
        "applied": False,
        "reason": "promo code already used by this member",
    }
    assert again.json()["discount"] == 4500
