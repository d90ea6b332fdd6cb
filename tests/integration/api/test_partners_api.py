"""Partners through the staff API: create, agreement, store, a till key returned once that then works at
the partner's store only, and the partner's settlement for the month; a till's key gets 403."""

from __future__ import annotations

import httpx

from shared.config import Settings
from shared.core import Core
from shared.stores import StoreFields, save_store
from tests.conftest import app_client
from tests.integration.api.test_pos_api import assert_problem, body


async def test_a_partner_set_up_through_the_api_settles_its_receipts(
    core: Core, settings: Settings, client: httpx.AsyncClient
) -> None:
    from webapp.app import create_app

    async with core.transaction() as session:
        for code in ("bank-01", "msk-001"):
            fields = StoreFields(code, f"Store {code}", "Europe/Moscow", None, None, None)
            await save_store(session, core.clock, fields, actor="t")
    created = await client.post("/api/v1/partners", json={"code": "bank", "name": "Bank"})
    assert created.status_code == 201, created.text
    partner = created.json()
    assert partner == {"id": partner["id"], "code": "bank", "name": "Bank", "active": True}
    assert_problem(await client.post("/api/v1/partners", json={"code": "bank", "name": "Again"}), 409)
    assert_problem(await client.post("/api/v1/partners", json={"code": "no spaces", "name": "X"}), 422)
    base = f"/api/v1/partners/{partner['id']}"
    terms = {"issue_price": 50, "redeem_price": 80, "valid_from": "2026-11-01", "earn_percent": 10}
    agreement = await client.post(f"{base}/agreements", json=terms)
    assert agreement.status_code == 201, agreement.text
    assert agreement.json()["valid_to"] is None
    assert_problem(await client.post(f"{base}/agreements", json={**terms, "valid_from": "2026-12-01"}), 409)
    assert_problem(await client.post(f"{base}/agreements", json={**terms, "valid_from": "2026-13-01"}), 422)
    assert (await client.post(f"{base}/stores", json={"store_id": "bank-01"})).status_code == 200
    assert_problem(await client.post(f"{base}/stores", json={"store_id": "nowhere"}), 404)
    assert_problem(await client.post("/api/v1/partners/999/keys", json={"name": "x"}), 404)
    issued = await client.post(f"{base}/keys", json={"name": "bank tills"})
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert (await client.get("/api/v1/partners")).json()["total"] == 1

    assert (await client.post("/api/v1/members", json={"phone": "+79123456789"})).status_code == 201
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as till:
        confirmed = await till.post("/api/v1/purchases", json=body(store_id="bank-01", redeem=0))
        assert confirmed.status_code == 201, confirmed.text
        assert confirmed.json()["accrue"] == 25  # 10% of 250.00
        assert_problem(await till.post("/api/v1/purchases", json=body(store_id="msk-001", redeem=0)), 403)
        assert_problem(await till.get(f"{base}/settlements"), 403)  # a till key, not a staff key
    month = (await client.get(f"{base}/settlements", params={"period": "2026-11"})).json()
    assert month["period"] == "2026-11"
    assert [(line["issued"], line["partner_pays"]) for line in month["lines"]] == [(25, 25 * 50)]
    assert month["partner_pays"] == 1250
    assert_problem(await client.get(f"{base}/settlements", params={"period": "2026-1x"}), 422)
