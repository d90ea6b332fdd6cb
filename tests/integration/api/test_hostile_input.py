"""Hostile input an outside probe sent to the POS API: every one a 4xx problem+json naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.api.test_pos_api import COFFEE, assert_problem, body
from tests.integration.api.test_pos_api import member as member

PHONE = "+79123456789"


async def test_a_quantity_of_1e30_is_a_field_error(client: httpx.AsyncClient) -> None:
    line = {**COFFEE, "quantity": 1e30}
    for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
        assert_problem(await client.post(path, json=body(lines=[line], redeem=0)), 422, "lines[0].quantity")
    line = {**COFFEE, "quantity": "1e30"}
    assert_problem(await client.post("/api/v1/purchases", json=body(lines=[line], redeem=0)), 422, "lines[0].quantity")


async def test_json_nested_100000_deep_is_a_bad_request(client: httpx.AsyncClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/v1/purchases", "/api/v1/members"):
        r = await client.post(path, content=deep, headers={"Content-Type": "application/json"})
        problem = assert_problem(r, 400)
        assert "JSON" in problem["detail"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00+14:00", "0001-01-01T00:00:00-12:00", "1800-06-01T12:00+03:00"])
async def test_purchased_at_of_year_one_is_a_field_error(client: httpx.AsyncClient, moment: str) -> None:
    for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
        r = await client.post(path, json=body(purchased_at=moment, redeem=0, member=None))
        assert_problem(r, 422, "purchased_at")


async def test_a_5000_character_time_zone_is_a_field_error(client: httpx.AsyncClient) -> None:
    for zone in ("Europe/" + "x" * 5000, "x" * 5000, "../../etc/passwd", "Europe/Moscow\x00"):
        r = await client.post("/api/v1/members", json={"phone": PHONE, "time_zone": zone})
        assert_problem(r, 422, "time_zone")


@pytest.mark.parametrize("cursor", ["9" * 5000, str(2**63), "0", "١٢٣"])
async def test_a_cursor_out_of_range_is_a_field_error(
    client: httpx.AsyncClient, member: dict[str, Any], cursor: str
) -> None:
    r = await client.get(f"/api/v1/members/{member['id']}/transactions", params={"cursor": cursor})
    assert_problem(r, 422, "cursor")


@pytest.mark.parametrize("name", ["Anna\x00", "\x00", "An\x1bna", "An\u0085na"])
async def test_control_characters_in_names_are_a_field_error(client: httpx.AsyncClient, name: str) -> None:
    for key in ("first_name", "last_name"):
        r = await client.post("/api/v1/members", json={"phone": PHONE, key: name})
        assert_problem(r, 422, key)
    assert (await client.get("/api/v1/members", params={"phone": PHONE})).status_code == 404


async def test_control_characters_in_receipt_texts_are_field_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/purchases", json=body(receipt_id="A\x00", member=None, redeem=0))
    assert_problem(r, 422, "receipt_id")
    line = {**COFFEE, "name": "Coffee\x00"}
    r = await client.post("/api/v1/purchases", json=body(lines=[line], member=None, redeem=0))
    assert_problem(r, 422, "lines[0].name")
    r = await client.post("/api/v1/purchases", json=body(promo_code="X\x00", member=None, redeem=0))
    assert_problem(r, 422, "promo_code")


async def test_promotion_times_and_names_are_bounded(client: httpx.AsyncClient) -> None:
    base = {"name": "Autumn", "kind": "discount", "percent": 10}
    r = await client.post("/api/v1/promotions", json={**base, "starts_at": "0001-01-01T00:00+14:00"})
    assert_problem(r, 422, "starts_at")
    r = await client.post("/api/v1/promotions", json={**base, "name": "Au\x00tumn"})
    assert_problem(r, 422, "name")
    r = await client.post("/api/v1/promotions", json={**base, "max_uses": 2**63})
    assert_problem(r, 422, "max_uses")
    r = await client.post("/api/v1/certificates", json={"amount": 1000, "expires_at": "9999-12-31T23:59:59+00:00"})
    assert_problem(r, 422, "expires_at")


async def test_bonus_grant_names_times_and_members_are_bounded(client: httpx.AsyncClient) -> None:
    base = {"name": "Gift", "points": 100, "members": [PHONE]}
    assert_problem(await client.post("/api/v1/bonus-grants", json={**base, "name": "Gi\x00ft"}), 422, "name")
    r = await client.post("/api/v1/bonus-grants", json={**base, "expires_at": "9999-12-31T23:59:59+00:00"})
    assert_problem(r, 422, "expires_at")
    r = await client.post("/api/v1/bonus-grants", json={**base, "members": ["+7912\x00"]})
    assert_problem(r, 422, "members")
    r = await client.post("/api/v1/bonus-grants", json={"name": "Gift", "points": 100, "segment_id": 2**63})
    assert_problem(r, 422, "segment_id")
