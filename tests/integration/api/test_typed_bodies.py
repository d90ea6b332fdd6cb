"""Typed bodies change nothing a till sees: a body the Struct refuses still gets the core's problem, every
field at once in the core's words, and the schema shows the bounds the core enforces."""

from __future__ import annotations

from typing import Any

import httpx

from shared.receipts import MAX_ID, MAX_LINES, MAX_MONEY
from tests.integration.api.test_pos_api import COFFEE, assert_problem, body
from tests.integration.api.test_pos_api import member as member


async def test_a_refused_receipt_names_every_field_in_the_cores_words(client: httpx.AsyncClient) -> None:
    lines = [{**COFFEE, "price": -1}, {**COFFEE, "sku": 5}]
    for path in ("/api/v1/purchases/calculate", "/api/v1/purchases"):
        problem = assert_problem(await client.post(path, json=body(lines=lines, receipt_id="x" * 65, member=None)), 422)
        assert problem["detail"] == "The receipt has invalid fields."
        assert problem["errors"] == [
            {"field": "receipt_id", "message": "at most 64 characters"},
            {"field": "lines[0].price", "message": "must not be negative"},
            {"field": "lines[1].sku", "message": "must be a non-empty string"},
        ]


async def test_refused_registrations_and_grants_get_every_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/members", json={"phone": 79123456789, "channel": "fax", "consents": {"sms": 1}})
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["phone", "phone", "consents"]
    r = await client.post("/api/v1/bonus-grants", json={"name": "", "points": 0, "members": []})
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["name", "points", "members"]
    assert problem["detail"] == "The bonus grant has invalid fields."


async def test_the_schema_shows_the_cores_bounds_and_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    parts = schema["components"]["schemas"]
    assert parts["Receipt"]["properties"]["store_id"]["maxLength"] == MAX_ID
    assert parts["Receipt"]["properties"]["lines"]["maxItems"] == MAX_LINES
    assert parts["ReceiptLine"]["properties"]["price"]["maximum"] == MAX_MONEY
    assert set(parts["ProblemDetails"]["required"]) == {"type", "title", "status", "detail", "errors"}
    confirm = schema["paths"]["/api/v1/purchases"]["post"]
    assert confirm["requestBody"]["content"]["application/json"]["schema"]["allOf"] == [
        {"$ref": "#/components/schemas/Receipt"}
    ]
    assert set(confirm["responses"]) >= {"200", "201", "400", "401", "404", "409", "422"}
    assert confirm["security"] == [{"ApiKey": []}]
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a key from `loyalty apikey create NAME`",
    }
    problem = confirm["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}
    assert confirm["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Confirmation"
    }


def floats_in(value: Any, where: str = "$") -> list[str]:
    if isinstance(value, float):
        return [where]
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in floats_in(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in floats_in(v, f"{where}[{i}]")]
    return []


async def test_answers_keep_integers_integers(client: httpx.AsyncClient, member: dict[str, Any]) -> None:
    """Money, points and percents are JSON integers: typing the answers must not turn 5 into 5.0."""
    answers = [
        member,
        (await client.post("/api/v1/purchases/calculate", json=body())).json(),
        (await client.post("/api/v1/purchases", json=body())).json(),
        (await client.get(f"/api/v1/members/{member['id']}/balance")).json(),
        (await client.get(f"/api/v1/members/{member['id']}/transactions")).json(),
    ]
    assert [floats_in(answer) for answer in answers] == [[]] * len(answers)
    assert answers[2]["balance"]["tier"]["accrual_percent"] == 5
