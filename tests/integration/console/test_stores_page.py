"""The console's stores page: admins only; list, search and page; create and edit with field errors for
hostile input (never a 500); every change in the audit log."""

from __future__ import annotations

import pytest

from shared.audit import recent
from shared.core import Core
from shared.db.models import Store
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.console.test_hostile_forms import fields_of

__all__ = ["console", "password_hash", "staff"]

NEW = {
    "code": "ekb-001",
    "name": "Екатеринбург",
    "time_zone": "Asia/Yekaterinburg",
    "address": "Ленина 1",
    "latitude": "56.8389",
    "longitude": "60.6057",
}


async def test_admins_create_find_and_edit_stores_and_each_change_is_audited(core: Core, console: Console) -> None:
    marketer = await signed_in(console, "marketer")
    assert (await marketer.get("/console/stores")).status_code == 403
    assert (await marketer.post("/console/stores", NEW)).status_code == 403
    admin = await signed_in(console, "admin")
    created = await admin.post("/console/stores", NEW)
    assert created.status_code == 303, created.text
    again = await admin.post("/console/stores", {**NEW, "name": "Other"})
    assert again.status_code == 422
    assert fields_of(again) == ["code"]
    for i in range(55):
        await admin.post("/console/stores", {**NEW, "code": f"z-{i:03d}", "name": f"Zeta {i}"})
    listed = await admin.get("/console/stores")
    assert listed.status_code == 200
    assert "Stores 1–50 of 56" in listed.text
    assert "offset=50" in listed.text
    assert "z-054" in (await admin.get("/console/stores?offset=50")).text
    found = await admin.get("/console/stores?q=%D0%95%D0%BA%D0%B0%D1%82")  # "Екат"
    assert "ekb-001" in found.text
    assert "z-000" not in found.text
    assert "Stores 0–0 of 0" in (await admin.get("/console/stores?q=%25")).text

    form = await admin.get("/console/stores/ekb-001")
    assert form.status_code == 200
    assert 'value="Ленина 1"' in form.text
    edited = await admin.post("/console/stores/ekb-001", {**NEW, "code": "evil", "time_zone": "Asia/Omsk"})
    assert edited.status_code == 303
    async with core.reading() as session:
        store = await session.get(Store, "ekb-001")
        assert store is not None
        assert store.time_zone == "Asia/Omsk"
        assert await session.get(Store, "evil") is None  # the code is the path's, never the form's
        audit = await recent(session, target=("store", "ekb-001"))
    assert [(e.action, e.actor) for e in audit] == [
        ("store_updated", "admin@example.com"),
        ("store_created", "admin@example.com"),
    ]
    assert audit[0].before is not None
    assert audit[0].before["time_zone"] == "Asia/Yekaterinburg"
    assert (await admin.get("/console/stores/nope")).status_code == 404
    assert (await admin.post("/console/stores/nope", NEW)).status_code == 404


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"code": "../etc"}, ["code"]),
        ({"code": "a" * 65}, ["code"]),
        ({"code": "a\x00b"}, ["code"]),
        ({"name": ""}, ["name"]),
        ({"name": "x" * 201}, ["name"]),
        ({"time_zone": "Nowhere/Land"}, ["time_zone"]),
        ({"time_zone": "x" * 5000}, ["time_zone"]),
        ({"latitude": "nan"}, ["latitude"]),
        ({"latitude": "1e999"}, ["latitude"]),
        ({"longitude": "181"}, ["longitude"]),
        ({"longitude": ""}, ["longitude"]),
        ({"address": "a\x1bb"}, ["address"]),
    ],
)
async def test_hostile_store_forms_are_field_errors(
    core: Core, console: Console, change: dict[str, str], fields: list[str]
) -> None:
    admin = await signed_in(console, "admin")
    answer = await admin.post("/console/stores", {**NEW, **change})
    assert answer.status_code == 422, answer.text
    assert fields_of(answer) == fields
    await admin.post("/console/stores", NEW)
    edited = await admin.post("/console/stores/ekb-001", {**NEW, **change})
    assert edited.status_code == (303 if "code" in change else 422), edited.text  # the code is the path's
    async with core.reading() as session:
        assert [e.action for e in await recent(session, target=("store", "ekb-001"))] == ["store_created"]
    assert "ekb-001" in (await admin.get("/console/stores")).text
