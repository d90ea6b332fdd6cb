"""The POS API as a till sees it: every endpoint of API.md, every bad input a 4xx problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

PHONE = "+79123456789"
COFFEE = {"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1, "price": 25000, "amount": 25000}


def body(**changes: Any) -> dict[str, Any]:
    base = {
        "store_id": "msk-001",
        "receipt_id": "A-000123",
        "member": {"phone": PHONE},
        "lines": [COFFEE],
        "redeem": "max",
    }
    return {**base, **changes}


@pytest.fixture
async def member(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/members",
        json={
            "phone": "8 (912) 345-67-89",
            "first_name": "Anna",
            "last_name": "Ivanova",
            "email": "Anna@Example.com",
            "birth_date": "1990-05-17",
            "channel": "pos",
            "store_id": "msk-001",
            "consents": {"sms": True, "viber": True, "email": False, "push": True, "telegram": True},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    return problem


async def test_member_registration_and_lookup(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    assert member["phone"] == PHONE
    assert member["email"] == "anna@example.com"
    assert member["tier"] == {"code": "standard", "name": "Стандарт"}
    assert member["balance"]["available"] == 100
    assert member["wallet"]["apple_url"].startswith("http://testserver.local/wallet/apple/")
    assert member["wallet"]["google_url"].startswith("https://pay.google.com/gp/v/save/")
    again = await client.post("/api/v1/members", json={"phone": "+7 912 345 67 89"})
    assert again.status_code == 200
    assert again.json()["id"] == member["id"]
    for query in ({"phone": "89123456789"}, {"card": member["card_number"]}):
        found = await client.get("/api/v1/members", params=query)
        assert found.status_code == 200
        assert found.json()["id"] == member["id"]
    by_id = await client.get(f"/api/v1/members/{member['id']}")
    assert by_id.json()["card_number"] == member["card_number"]


async def test_balance_and_transactions_pages(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    for n in range(3):
        r = await client.post("/api/v1/purchases", json=body(receipt_id=f"T-{n}", redeem=0))
        assert r.status_code == 201
    balance = (await client.get(f"/api/v1/members/{member['id']}/balance")).json()
    assert balance["available"] == 100
    assert balance["pending"] == 36
    assert balance["tier"]["next"] == {"code": "gold", "name": "Золото", "spend_needed": 3000000 - 75000}
    page = (await client.get(f"/api/v1/members/{member['id']}/transactions", params={"limit": 2})).json()
    assert [t["kind"] for t in page["items"]] == ["accrual", "accrual"]
    assert page["items"][0]["purchase"] == {
        "store_id": "msk-001",
        "receipt_id": "T-2",
        "store_name": None,
        "partner": None,
    }
    rest = (
        await client.get(
            f"/api/v1/members/{member['id']}/transactions", params={"limit": 2, "cursor": page["next_cursor"]}
        )
    ).json()
    assert [t["kind"] for t in rest["items"]] == ["accrual", "bonus"]
    assert rest["next_cursor"] is None


async def test_calculate_confirm_refund_as_in_the_contract(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    calc = await client.post("/api/v1/purchases/calculate", json=body())
    assert calc.status_code == 200
    answer = calc.json()
    assert answer["redeem"] == {"requested": "max", "applied": 100, "max": 100}
    assert answer["payable"] == 15000
    assert answer["accrue"] == 7
    assert answer["lines"] == [
        {
            "sku": "4607001",
            "amount": 25000,
            "discount": 0,
            "redeem": 10000,
            "accrue": 7,
            "certificate": 0,
            "promotions": [],
        }
    ]
    assert answer["receipt_text"][0] == "Списано баллов: 100"
    confirmed = await client.post("/api/v1/purchases", json=body())
    assert confirmed.status_code == 201
    done = confirmed.json()
    assert done["purchase_id"]
    assert done["balance"]["available"] == 0
    assert done["balance"]["pending"] == 7
    retry = await client.post("/api/v1/purchases", json=body())
    assert retry.status_code == 200
    assert retry.json() == done
    assert_problem(await client.post("/api/v1/purchases", json=body(redeem=0)), 409)
    refund = await client.post(
        "/api/v1/purchases/msk-001/A-000123/refunds",
        json={"refund_id": "R-1", "lines": [{"sku": "4607001", "quantity": 1}]},
    )
    assert refund.status_code == 201
    assert refund.json()["points_reversed"] == 7
    assert refund.json()["points_restored"] == 100
    assert refund.json()["balance"]["available"] == 100
    again = await client.post(
        "/api/v1/purchases/msk-001/A-000123/refunds",
        json={"refund_id": "R-1", "lines": [{"sku": "4607001", "quantity": 1}]},
    )
    assert again.status_code == 200
    assert again.json() == refund.json()


async def test_redeeming_more_than_allowed_is_422_with_max(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    problem = assert_problem(await client.post("/api/v1/purchases", json=body(redeem=101)), 422)
    assert problem["max"] == 100


BAD_RECEIPTS = [
    (body(member={"phone": "not a phone"}), 422, "member.phone"),
    (body(lines=[{**COFFEE, "price": -1}]), 422, "lines[0].price"),
    (body(lines=[{**COFFEE, "price": 250.5}]), 422, "lines[0].price"),
    (body(lines=[{**COFFEE, "amount": "25000"}]), 422, "lines[0].amount"),
    (body(lines=[{**COFFEE, "amount": 24999}]), 422, "lines[0].amount"),
    (body(lines=[{**COFFEE, "quantity": 1.2345}]), 422, "lines[0].quantity"),
    (body(lines=[{**COFFEE, "quantity": 0}]), 422, "lines[0].quantity"),
    (body(lines=[{**COFFEE, "sku": ""}]), 422, "lines[0].sku"),
    (body(lines=[]), 422, "lines"),
    (body(lines="coffee"), 422, "lines"),
    (body(redeem=-5), 422, "redeem"),
    (body(redeem="all"), 422, "redeem"),
    (body(store_id=None), 422, "store_id"),
    (body(receipt_id="x" * 65), 422, "receipt_id"),
    (body(purchased_at="yesterday"), 422, "purchased_at"),
    (body(purchased_at="2026-11-22T12:00:00"), 422, "purchased_at"),
    (body(member={"phone": "+79000000000"}), 404, None),
    (body(member={"card_number": "2700000000001"}), 422, "member.card_number"),
    (body(member={"member_id": "00000000-0000-0000-0000-000000000000"}), 404, None),
    (body(member={"phone": PHONE, "card_number": "1"}), 422, "member"),
    ([1, 2, 3], 400, None),
]


@pytest.mark.parametrize(("payload", "status", "field"), BAD_RECEIPTS)
async def test_bad_receipts_get_actionable_4xx(
    client: httpx.AsyncClient, member: dict[str, Any], payload: Any, status: int, field: str | None
) -> None:
    for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
        assert_problem(await client.post(path, json=payload), status, field)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({}, "phone"),
        ({"phone": PHONE, "birth_date": "1990-02-30"}, "birth_date"),
        ({"phone": PHONE, "email": "nope"}, "email"),
        ({"phone": PHONE, "channel": "fax"}, "channel"),
        ({"phone": PHONE, "consents": {"pigeon": True}}, "consents.pigeon"),
        ({"phone": PHONE, "consents": {"sms": "yes"}}, "consents"),
        ({"phone": 79123456789}, "phone"),
        ({"phone": PHONE, "birth_date": "2999-01-01"}, "birth_date"),
    ],
)
async def test_bad_registrations_get_field_errors(client: httpx.AsyncClient, payload: Any, field: str) -> None:
    assert_problem(await client.post("/api/v1/members", json=payload), 422, field)


async def test_transport_level_errors_are_problems(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    assert_problem(
        await client.post("/api/v1/purchases", content=b"{not json", headers={"content-type": "application/json"}), 400
    )
    huge = {"store_id": "s", "receipt_id": "r", "lines": [COFFEE], "pad": "x" * 1_100_000}
    assert_problem(await client.post("/api/v1/purchases", json=huge), 413)
    assert_problem(await client.get("/api/v1/members/not-a-uuid"), 404)
    assert_problem(await client.get("/api/v1/members", params={"phone": "x"}), 422, "phone")
    assert_problem(await client.get("/api/v1/members"), 422)
    assert_problem(await client.get(f"/api/v1/members/{member['id']}/transactions", params={"cursor": "abc"}), 422)
    assert_problem(await client.get(f"/api/v1/members/{member['id']}/transactions", params={"limit": 500}), 400)
    assert_problem(
        await client.post("/api/v1/purchases/msk-001/none/refunds", json={"refund_id": "1", "amount": 1}), 404
    )
    await client.post("/api/v1/purchases", json=body(redeem=0))
    assert_problem(
        await client.post("/api/v1/purchases/msk-001/A-000123/refunds", json={"refund_id": "1", "amount": 10**6}),
        422,
        "amount",
    )
    assert_problem(await client.post("/api/v1/purchases/msk-001/A-000123/refunds", json={"refund_id": "1"}), 422)


async def test_api_keys_are_required(client: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer lk_wrong"}, {"Authorization": "Basic eA=="}):
        r = await client.get("/api/v1/members", params={"phone": PHONE}, headers=headers)
        assert_problem(r, 401)
        assert r.headers.get("www-authenticate") == "Bearer"


async def test_openapi_lists_every_contract_path(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/members",
        "/api/v1/members/{member_id}",
        "/api/v1/members/{member_id}/balance",
        "/api/v1/members/{member_id}/transactions",
        "/api/v1/purchases",
        "/api/v1/purchases/calculate",
        "/api/v1/purchases/{store_id}/{receipt_id}/refunds",
    } <= paths


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
receipt_like = st.fixed_dictionaries(
    {},
    optional={
        "store_id": json_values,
        "receipt_id": json_values,
        "member": json_values,
        "lines": st.lists(
            st.dictionaries(st.sampled_from(["sku", "quantity", "price", "amount", "category"]), json_values),
            max_size=3,
        )
        | json_values,
        "redeem": json_values,
        "purchased_at": json_values,
        "promo_code": json_values,
    },
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=receipt_like)
async def test_fuzzed_receipts_never_get_a_5xx(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
        r = await client.post(path, json=payload)
        assert r.status_code < 500, r.text


@hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    payload=st.dictionaries(
        st.sampled_from(["phone", "email", "birth_date", "channel", "consents", "first_name", "time_zone", "language"]),
        json_values,
    )
)
async def test_fuzzed_registrations_never_get_a_5xx(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    r = await client.post("/api/v1/members", json=payload)
    assert r.status_code < 500, r.text
