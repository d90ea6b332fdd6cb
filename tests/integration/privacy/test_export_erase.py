"""Export everything held about a member; erase the person and keep the accounts adding up."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from shared.core import Core
from shared.db.models import Entry, Member, Purchase
from shared.db.models.console import AuditEntry
from shared.errors import InvalidInput, NotFound
from shared.events import EventKind, emit
from shared.members import Registration, find_by_phone, register
from shared.privacy import erase_member, export_member, find_for_privacy
from shared.reports import REPORTS, Period
from tests.integration.core.helpers import confirm, member_row, receipt
from tests.integration.privacy.helpers import PHONE, message, rich_member, rows


async def _export(core: Core, phone: str = PHONE) -> dict:
    async with core.reading() as session:
        return await export_member(session, await find_for_privacy(session, phone), core.clock.now())


async def _erase(core: Core, member_id, reason: str = "request 2026-17") -> Member:
    async with core.transaction() as session:
        return await erase_member(session, core.clock, member_id, actor="dpo@example.com", reason=reason)


async def _liability(core: Core) -> float:
    async with core.reading() as session:
        result = await REPORTS["liability"].compute(
            session, core.rules, Period(date(2026, 11, 20), date(2026, 11, 30), core.rules.zone)
        )
    return result.value


async def _ledger_adds_up(core: Core) -> tuple[int, int]:
    async with core.reading() as session:
        entries = (await session.execute(select(func.coalesce(func.sum(Entry.points), 0)))).scalar_one()
        balances = (
            await session.execute(select(func.coalesce(func.sum(Member.available + Member.pending), 0)))
        ).scalar_one()
    return int(entries), int(balances)


async def test_export_holds_profile_consents_card_ledger_purchases_messages_devices_and_codes(core: Core) -> None:
    member = await rich_member(core)
    data = await _export(core)
    json.dumps(data)  # JSON-ready as it is
    assert data["member"]["phone"] == PHONE
    assert (data["member"]["first_name"], data["member"]["last_name"]) == ("Anna", "Ivanova")
    assert data["member"]["email"] == "anna@example.com"
    assert data["member"]["birth_date"] == "1990-05-17"
    assert data["member"]["telegram_user_id"] == 777001
    assert data["card"]["card_number"] == member.card_number
    consents = {c["channel"]: c for c in data["consents"]}
    assert consents["sms"]["granted"] is True
    assert consents["email"]["granted"] is False
    assert consents["sms"]["source"] == "pos:msk-001"
    assert consents["sms"]["method"] == "pos-registration"
    assert consents["sms"]["changed_at"]
    assert {e["kind"] for e in data["ledger"]} == {"bonus", "accrual"}
    assert sum(e["points"] for e in data["ledger"]) == data["balance"]["available"] + data["balance"]["pending"]
    assert [p["receipt_id"] for p in data["purchases"]] == ["r-anna-1"]
    assert data["purchases"][0]["total"] == 150000
    assert {m["address"] for m in data["messages"]} == {PHONE, "777001"}
    assert data["devices"]["push_subscriptions"][0]["endpoint"] == "https://fcm.googleapis.com/fcm/send/abc123"
    assert data["devices"]["wallet_registrations"][0]["device_id"] == "device-anna-1"
    assert len(data["login_codes"]) == 1
    assert data["login_codes"][0]["ip"] == "10.0.0.7"
    assert "code_hash" not in data["login_codes"][0]


async def test_export_of_an_unknown_phone_is_not_found(core: Core) -> None:
    with pytest.raises(NotFound):
        await _export(core, "+79160000000")


async def test_erase_removes_the_person_and_keeps_the_accounts(core: Core) -> None:
    async with core.transaction() as session:  # a code asked for before they joined: no member id yet
        session.add(message(None, core.clock.now(), source="event:0", recipient=PHONE))
        await emit(session, EventKind.LOGIN_CODE, None, {"phone": PHONE, "code": "123456"}, core.clock.now())
    member = await rich_member(core)
    old_card, old_serial = member.card_number, member.wallet_serial
    liability_before = await _liability(core)
    balance_before = (await member_row(core, member.id)).available
    await _erase(core, member.id)

    row = await member_row(core, member.id)
    assert row.phone.startswith("erased:")
    assert row.card_number != old_card
    assert (row.first_name, row.last_name, row.email, row.birth_date, row.birth_mmdd, row.telegram_user_id) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert row.wallet_serial != old_serial
    assert row.available == balance_before  # the anonymous member keeps the points
    async with core.reading() as session:
        assert await find_by_phone(session, PHONE) is None
        assert (await session.execute(select(Member).where(Member.card_number == old_card))).first() is None
        purchases = (await session.execute(select(Purchase))).scalars().all()
    assert [p.member_id for p in purchases] == [member.id]
    assert await rows(core, "SELECT id FROM consents") == []
    assert await rows(core, "SELECT id FROM push_subscriptions") == []
    assert await rows(core, "SELECT id FROM wallet_registrations") == []
    assert await rows(core, "SELECT id FROM login_codes") == []
    messages = await rows(core, "SELECT address, text, html, subject, status, recipient FROM messages ORDER BY id")
    assert [(m.address, m.text, m.html, m.subject) for m in messages] == [("", "", None, None)] * 3
    assert messages[2].status == "skipped"  # the queued one never goes out
    assert all(PHONE not in m.recipient for m in messages)
    assert all(PHONE not in str(m) for m in await rows(core, "SELECT payload FROM outbox"))
    notices = await rows(core, "SELECT payload FROM outbox WHERE kind = 'member_updated' AND processed_at IS NULL")
    pending = [json.loads(n.payload) if isinstance(n.payload, str) else n.payload for n in notices]
    assert pending == [{"changed": ["erased"]}]  # still to be sent: integrators drop what they copied
    assert await _liability(core) == liability_before
    entries, balances = await _ledger_adds_up(core)
    assert entries == balances

    async with core.reading() as session:
        record = (await session.execute(select(AuditEntry).where(AuditEntry.action == "member.erase"))).scalar_one()
    assert (record.actor, record.target_id, record.reason) == ("dpo@example.com", str(member.id), "request 2026-17")
    assert PHONE not in json.dumps([record.before, record.after])
    assert "Anna" not in json.dumps(record.after)


async def test_the_card_and_phone_no_longer_resolve_at_the_till(core: Core, client: httpx.AsyncClient) -> None:
    member = await rich_member(core)
    assert (await client.get("/api/v1/members", params={"card": member.card_number})).status_code == 200
    await _erase(core, member.id)
    assert (await client.get("/api/v1/members", params={"card": member.card_number})).status_code == 404
    assert (await client.get("/api/v1/members", params={"phone": PHONE})).status_code == 404


async def test_the_same_phone_registers_again_from_zero(core: Core) -> None:
    member = await rich_member(core)
    await _erase(core, member.id)
    async with core.transaction() as session:
        fresh, created = await register(session, core.clock, core.rules, Registration(phone=PHONE, source="web"))
    assert created
    assert fresh.id != member.id
    assert fresh.card_number != member.card_number
    assert fresh.available == core.rules.welcome.points  # the welcome bonus, as for anyone new
    assert fresh.first_name is None
    data = await _export(core)
    assert data["purchases"] == []
    assert len(data["ledger"]) == (1 if core.rules.welcome.points else 0)
    assert data["consents"] == []
    assert data["messages"] == []
    await confirm(core, receipt("r-anna-2", PHONE))
    async with core.reading() as session:
        buyer = (await session.execute(select(Purchase.member_id).where(Purchase.receipt_id == "r-anna-2"))).scalar()
    assert buyer == fresh.id  # the new purchase goes to the new member, not the anonymous one
    entries, balances = await _ledger_adds_up(core)
    assert entries == balances


async def test_erase_needs_a_reason_and_happens_once(core: Core) -> None:
    member = await rich_member(core)
    with pytest.raises(InvalidInput):
        await _erase(core, member.id, reason=" ")
    assert (await member_row(core, member.id)).phone == PHONE  # nothing half-written
    await _erase(core, member.id)
    with pytest.raises(NotFound):
        await _erase(core, member.id)
