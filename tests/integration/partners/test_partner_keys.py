"""A partner's till key prices, confirms and refunds receipts only at the partner's stores; the
retailer's keys are untouched, and points earned at a partner are spent at the retailer's store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.apikeys import revoke_api_key
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.jobs import run_due
from shared.partners import AgreementFields, PartnerFields, add_agreement, get_partner, save_partner
from tests.conftest import app_client
from tests.integration.api.test_pos_api import COFFEE, PHONE, assert_problem, body
from tests.integration.partners.coalition import BANK, OWN, PHARMACY, Coalition


async def _register(client: httpx.AsyncClient) -> str:
    r = await client.post("/api/v1/members", json={"phone": PHONE})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_partner_key_works_only_at_its_own_stores(
    core: Core, settings: Settings, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    from webapp.app import create_app

    await _register(client)
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {coalition.bank_key}") as bank:
        for store in (PHARMACY, OWN, "no-such-store"):
            for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
                refused = await bank.post(path, json=body(store_id=store, receipt_id="B-1", redeem=0))
                problem = assert_problem(refused, 403)
                assert store in problem["detail"]
        earned = await bank.post("/api/v1/purchases", json=body(store_id=BANK, receipt_id="B-1", redeem=0))
        assert earned.status_code == 201, earned.text
        again = await bank.post("/api/v1/purchases", json=body(store_id=BANK, receipt_id="B-1", redeem=0))
        assert again.status_code == 200  # the retry, answered as before
        # the retailer's own key confirms at the pharmacy, the bank's key may not refund there
        own = await client.post("/api/v1/purchases", json=body(store_id=PHARMACY, receipt_id="P-1", redeem=0))
        assert own.status_code == 201, own.text
        refund = {"refund_id": "R-1", "amount": 1000}
        assert_problem(await bank.post(f"/api/v1/purchases/{PHARMACY}/P-1/refunds", json=refund), 403)
        ok = await bank.post(f"/api/v1/purchases/{BANK}/B-1/refunds", json=refund)
        assert ok.status_code == 201, ok.text
        # a staff operation stays a staff key's
        assert_problem(await bank.get("/api/v1/stores"), 403)
        # a partner switched off: its keys are refused at its own stores too
        async with core.transaction() as session:
            await save_partner(
                session, core.clock, PartnerFields("bank", "Bank", False), actor="t", partner_id=coalition.bank_id
            )
        core.store_partners.forget()
        assert_problem(await bank.post("/api/v1/purchases/calculate", json=body(store_id=BANK, redeem=0)), 403)
    async with core.transaction() as session:
        await revoke_api_key(session, core.clock, "bank till")
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {coalition.bank_key}") as bank:
        assert_problem(await bank.post("/api/v1/purchases", json=body(store_id=PHARMACY, receipt_id="B-2")), 401)


async def test_a_remembered_revoked_partner_key_hears_401_not_403(
    core: Core, settings: Settings, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    from webapp.app import create_app

    await _register(client)
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {coalition.bank_key}") as bank:
        ok = await bank.post("/api/v1/purchases/calculate", json=body(store_id=BANK, redeem=0))
        assert ok.status_code == 200, ok.text
        async with core.transaction() as session:
            await revoke_api_key(session, core.clock, "bank till")
        assert_problem(await bank.post("/api/v1/purchases/calculate", json=body(store_id=PHARMACY)), 401)


async def test_points_earned_at_a_partner_are_spent_at_the_retailers_store(
    core: Core, settings: Settings, clock: FixedClock, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    from webapp.app import create_app

    member_id = await _register(client)
    big = {**COFFEE, "price": 1_000_000, "amount": 1_000_000}
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {coalition.bank_key}") as bank:
        earned = await bank.post("/api/v1/purchases", json=body(store_id=BANK, receipt_id="B-1", lines=[big], redeem=0))
        assert earned.status_code == 201, earned.text
    accrued = earned.json()["accrue"]
    assert accrued > 0
    clock.advance(hours=25)
    await run_due(core, clock)
    balance = (await client.get(f"/api/v1/members/{member_id}/balance")).json()
    assert balance["pending"] == 0
    assert balance["available"] >= accrued
    large = {**COFFEE, "price": 10_000_000, "amount": 10_000_000}
    spent = await client.post(
        "/api/v1/purchases", json=body(store_id=OWN, receipt_id="A-1", lines=[large], redeem=balance["available"])
    )
    assert spent.status_code == 201, spent.text
    answer: dict[str, Any] = spent.json()
    assert answer["redeem"]["applied"] == balance["available"]  # the bank's points among them
    history = (await client.get(f"/api/v1/members/{member_id}/transactions")).json()["items"]
    where = {(t["kind"], (t["purchase"] or {}).get("store_id")) for t in history}
    assert {("accrual", BANK), ("redemption", OWN)} <= where
    places = {t["purchase"]["store_id"]: t["purchase"] for t in history if t["purchase"]}
    assert places[BANK]["store_name"] == f"Store {BANK}"
    assert places[BANK]["partner"] == {"code": "bank", "name": "Bank"}
    assert places[OWN]["partner"] is None


async def test_a_partners_agreement_sets_the_earn_rate_at_its_stores_only(
    core: Core, settings: Settings, clock: FixedClock, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    await _register(client)
    async with core.transaction() as session:
        bank = await get_partner(session, coalition.bank_id)
        today = clock.now().astimezone(core.rules.zone).date()
        fields = AgreementFields(50, 80, today, today + timedelta(days=9), earn_percent=20)
        await add_agreement(session, core.clock, bank, fields, core.rules.zone, actor="t")
    receipt = body(receipt_id="E-1", redeem=0)  # 250.00 paid: 5% at the Standard tier, 20% at the bank
    at_bank = (await client.post("/api/v1/purchases/calculate", json={**receipt, "store_id": BANK})).json()
    at_own = (await client.post("/api/v1/purchases/calculate", json={**receipt, "store_id": OWN})).json()
    at_pharmacy = (await client.post("/api/v1/purchases/calculate", json={**receipt, "store_id": PHARMACY})).json()
    assert (at_bank["accrue"], at_own["accrue"], at_pharmacy["accrue"]) == (50, 12, 12)
    assert at_bank["receipt_text"][0] == "Партнёр программы: Bank"  # the receipt says whose store it is
    assert at_pharmacy["receipt_text"][0] == "Партнёр программы: Pharmacy"
    assert not any("Партнёр" in line for line in at_own["receipt_text"])
    confirmed = await client.post("/api/v1/purchases", json={**receipt, "store_id": BANK})
    assert confirmed.json()["accrue"] == 50
    later = {
        **receipt,
        "store_id": BANK,
        "receipt_id": "E-2",
        "purchased_at": (clock.now() + timedelta(days=10)).isoformat(),
    }
    clock.advance(days=10)  # the agreement ended: the tier's rate again
    assert (await client.post("/api/v1/purchases", json=later)).json()["accrue"] == 12
