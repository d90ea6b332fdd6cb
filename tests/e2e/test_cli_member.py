"""`loyalty member export|erase` and retention in `loyalty jobs run-due`, in a subprocess against a real database."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models import Entry, Member
from shared.reports import REPORTS, Period
from tests.e2e.test_cli import loyalty
from tests.integration.privacy.helpers import PHONE, message, rich_member, rows


async def _liability(core: Core) -> tuple[float, int, int]:
    async with core.reading() as session:
        result = await REPORTS["liability"].compute(
            session, core.rules, Period(date(2026, 11, 1), date(2027, 12, 31), core.rules.zone)
        )
        entries = (await session.execute(select(func.coalesce(func.sum(Entry.points), 0)))).scalar_one()
        balances = (
            await session.execute(select(func.coalesce(func.sum(Member.available + Member.pending), 0)))
        ).scalar_one()
    return result.value, int(entries), int(balances)


async def test_export_then_erase_through_the_cli(core: Core, settings: Settings, client: httpx.AsyncClient) -> None:
    member = await rich_member(core)
    before = await _liability(core)
    exported = loyalty(settings, "member", "export", "8 916 111-22-33")  # any usual form of the phone
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["member"]["phone"] == PHONE
    assert data["member"]["first_name"] == "Anna"
    assert data["card"]["card_number"] == member.card_number
    assert [p["receipt_id"] for p in data["purchases"]] == ["r-anna-1"]
    assert data["devices"]["wallet_registrations"][0]["device_id"] == "device-anna-1"

    no_reason = loyalty(settings, "member", "erase", PHONE)
    assert no_reason.returncode != 0
    assert "--reason" in no_reason.stderr
    erased = loyalty(settings, "member", "erase", PHONE, "--reason", "request 2026-17")
    assert erased.returncode == 0, erased.stderr
    assert str(member.id) in erased.stdout

    assert (await client.get("/api/v1/members", params={"phone": PHONE})).status_code == 404
    assert (await client.get("/api/v1/members", params={"card": member.card_number})).status_code == 404
    gone = loyalty(settings, "member", "export", PHONE)
    assert gone.returncode == 1
    assert "No member with phone" in gone.stderr
    again = loyalty(settings, "member", "erase", PHONE, "--reason", "request 2026-17")
    assert again.returncode == 1
    after = await _liability(core)
    assert after == before
    assert after[1] == after[2]  # the ledger still equals the balances

    joined = await client.post("/api/v1/members", json={"phone": PHONE})
    assert joined.status_code == 201
    assert joined.json()["card_number"] != member.card_number


async def test_a_bad_phone_is_a_clear_error(core: Core, settings: Settings) -> None:
    bad = loyalty(settings, "member", "export", "12345")
    assert bad.returncode == 2
    assert "PHONE" in bad.stderr
    assert "Traceback" not in bad.stderr


async def test_jobs_run_due_applies_retention(core: Core, settings: Settings) -> None:
    async with core.transaction() as session:
        session.add(message(None, core.clock.now() - timedelta(days=400), source="old:1"))
    done = loyalty(settings, "jobs", "run-due")
    assert done.returncode == 0, done.stderr
    assert "retention: 1 messages blanked" in done.stdout
    assert await rows(core, "SELECT id FROM messages WHERE address <> ''") == []
