"""POST/GET /api/v1/stores: staff keys only, upsert by code (201 then 200), audited, paginated, hostile bodies 422."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from shared.apikeys import create_api_key
from shared.audit import recent
from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.integration.api.test_pos_api import assert_problem

STORE = {
    "code": "ekb-001",
    "name": "Екатеринбург, Ленина 1",
    "time_zone": "Asia/Yekaterinburg",
    "address": "пр. Ленина, 1",
    "latitude": 56.8389,
    "longitude": 60.6057,
}


async def test_a_store_is_created_then_updated_and_listed(core: Core, client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/stores", json=STORE)
    assert created.status_code == 201, created.text
    assert created.json() == STORE
    again = await client.post("/api/v1/stores", json={**STORE, "name": "Ekaterinburg 1", "latitude": None})
    assert again.status_code == 422  # one coordinate without the other
    assert_problem(again, 422, "latitude")
    updated = await client.post("/api/v1/stores", json={**STORE, "name": "Ekaterinburg 1"})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Ekaterinburg 1"
    for code in ("a-1", "b-2", "c.3"):
        await client.post("/api/v1/stores", json={**STORE, "code": code, "name": f"Store {code}"})
    page = (await client.get("/api/v1/stores", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 4
    assert [s["code"] for s in page["items"]] == ["b-2", "c.3"]
    found = (await client.get("/api/v1/stores", params={"q": "EKATERINBURG"})).json()
    assert [s["code"] for s in found["items"]] == ["ekb-001"]
    assert (await client.get("/api/v1/stores", params={"q": "%"})).json()["total"] == 0
    async with core.reading() as session:
        audit = await recent(session, target=("store", "ekb-001"))
    assert [e.action for e in audit] == ["store_updated", "store_created"]
    assert audit[0].before is not None
    assert audit[0].before["name"] == STORE["name"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "msk 001"}, "code"),
        ({"code": "x" * 65}, "code"),
        ({"code": "мск-1"}, "code"),
        ({"code": ""}, "code"),
        ({"code": ".."}, "code"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"address": ["x"]}, "address"),
        ({"extra": 1}, "body"),  # an unknown field: msgspec names the body
    ],
)
async def test_hostile_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await client.post("/api/v1/stores", json={**STORE, **change})
    assert_problem(answer, 422, field)
    assert (await client.get("/api/v1/stores")).json()["total"] == 0


async def test_a_till_key_may_not_touch_stores(core: Core, settings: Settings) -> None:
    from webapp.app import create_app

    async with core.transaction() as session:
        pos_key = await create_api_key(session, core.clock, "till", scope="pos")
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {pos_key}") as till:
        assert_problem(await till.post("/api/v1/stores", json=STORE), 403)
        assert_problem(await till.get("/api/v1/stores"), 403)


async def test_the_same_new_code_sent_at_once_is_created_once(client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(client.post("/api/v1/stores", json=STORE) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 200, 201], [a.text for a in answers]
    assert (await client.get("/api/v1/stores")).json()["total"] == 1
