"""Promotions, code batches, certificates and grants through /api/v1: staff only, problem+json errors."""

from __future__ import annotations

import httpx

from shared.apikeys import create_api_key
from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.integration.api.test_pos_api import assert_problem


async def test_marketing_needs_a_staff_key_but_a_till_may_check_a_certificate(
    core: Core, settings: Settings, client: httpx.AsyncClient
) -> None:
    from webapp.app import create_app

    issued = await client.post("/api/v1/certificates", json={"amount": 100000, "count": 2})
    assert issued.status_code == 201
    assert len(issued.json()["items"]) == 2
    number = issued.json()["items"][0]["number"]
    async with core.transaction() as session:
        pos_key = await create_api_key(session, core.clock, "till", scope="pos")
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {pos_key}") as till:
        assert_problem(await till.post("/api/v1/promotions", json={"name": "x", "kind": "discount", "percent": 5}), 403)
        assert_problem(await till.get("/api/v1/promotions"), 403)
        assert_problem(await till.post("/api/v1/certificates", json={"amount": 100}), 403)
        checked = await till.get(f"/api/v1/certificates/{number}")
        assert checked.status_code == 200
        assert checked.json()["balance"] == 100000
        assert checked.json()["usable"]
        assert_problem(await till.get("/api/v1/certificates/0000"), 404)


async def test_bad_bodies_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/v1/promotions", json={"kind": "discount", "percent": 5}), 422, "name")
    assert_problem(await client.post("/api/v1/promotions", json={"name": "x", "kind": "gift"}), 422, "kind")
    assert_problem(await client.post("/api/v1/promotions", json={"name": "x", "kind": "discount"}), 422, "percent")
    assert_problem(
        await client.post(
            "/api/v1/promotions", json={"name": "x", "kind": "discount", "percent": 5, "tier_codes": ["bronze"]}
        ),
        422,
        "tier_codes",
    )
    assert_problem(
        await client.post(
            "/api/v1/promotions", json={"name": "x", "kind": "discount", "percent": 5, "segment_ids": [42]}
        ),
        422,
        "segment_ids",
    )
    assert_problem(
        await client.post("/api/v1/promotions", json={"name": "x", "kind": "bundle", "percent": 5}),
        422,
        "with_categories",
    )
    assert_problem(await client.post("/api/v1/promotions", json=[1, 2]), 400)
    assert_problem(await client.patch("/api/v1/promotions/999", json={"active": False}), 404)
    assert_problem(await client.post("/api/v1/promotions/999/code-batches", json={"kind": "unique", "count": 5}), 404)
    assert_problem(await client.post("/api/v1/certificates", json={"amount": -5}), 422, "amount")
    assert_problem(await client.post("/api/v1/bonus-grants", json={"name": "x", "points": 5}), 422, "segment_id")
    assert_problem(await client.post("/api/v1/bonus-grants/999/run"), 404)
    assert_problem(
        await client.post(
            "/api/v1/purchases/calculate",
            json={
                "store_id": "s",
                "receipt_id": "r",
                "lines": [{"sku": "a", "quantity": 1, "price": 1, "amount": 1}],
                "certificates": [{"amount": 5}],
            },
        ),
        422,
        "certificates[0].number",
    )


async def test_batches_are_exported_and_a_code_cannot_be_made_twice(client: httpx.AsyncClient) -> None:
    promotion = await client.post(
        "/api/v1/promotions", json={"name": "Welcome", "kind": "discount", "amount": 30000, "code_only": True}
    )
    pid = promotion.json()["id"]
    made = await client.post(
        f"/api/v1/promotions/{pid}/code-batches", json={"kind": "unique", "count": 25, "prefix": "w-"}
    )
    assert made.status_code == 201
    assert made.json()["count"] == 25
    csv_text = await client.get(f"/api/v1/code-batches/{made.json()['id']}/codes.csv")
    assert csv_text.status_code == 200
    assert csv_text.headers["content-type"].startswith("text/csv")
    rows = csv_text.text.strip().split("\n")
    assert rows[0] == "code,uses,max_uses"
    assert len(rows) == 26
    assert all(r.startswith("W-") for r in rows[1:])
    shared = {"kind": "shared", "code": "AUTUMN"}
    assert (await client.post(f"/api/v1/promotions/{pid}/code-batches", json=shared)).status_code == 201
    assert_problem(await client.post(f"/api/v1/promotions/{pid}/code-batches", json=shared), 409)
    listed = await client.get(f"/api/v1/promotions/{pid}")
    assert [b["count"] for b in listed.json()["code_batches"]] == [25, 1]
    stopped = await client.patch(f"/api/v1/promotions/{pid}", json={"active": False})
    assert stopped.json()["active"] is False
    assert [p["id"] for p in (await client.get("/api/v1/promotions?active=true")).json()["items"]] == []
