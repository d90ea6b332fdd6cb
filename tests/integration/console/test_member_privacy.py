"""Personal-data requests in the console: export and erase a member (admin and support only, audit-logged,
with a confirm step)."""

from __future__ import annotations

import json

import pytest

from shared.audit import recent
from shared.core import Core
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.core.helpers import member_row
from tests.integration.privacy.helpers import PHONE, rich_member

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the console route tests


@pytest.mark.parametrize("role", ["admin", "support"])
async def test_member_tools_export_the_data_as_a_json_download(console: Console, core: Core, role: str) -> None:
    member = await rich_member(core)
    await signed_in(console, role)
    page = await console.get(f"/console/members/{member.id}")
    assert f"/console/members/{member.id}/export.json" in page.text
    assert f"/console/members/{member.id}/erase" in page.text
    download = await console.get(f"/console/members/{member.id}/export.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    data = json.loads(download.text)
    assert data["member"]["phone"] == PHONE
    assert data["card"]["card_number"] == member.card_number
    async with core.reading() as session:
        entries = await recent(session, target=("member", str(member.id)))
    assert [(e.action, e.actor) for e in entries] == [("member.export", f"{role}@example.com")]


@pytest.mark.parametrize("role", ["marketer", "analyst"])
async def test_other_roles_can_neither_export_nor_erase(console: Console, core: Core, role: str) -> None:
    member = await rich_member(core)
    await signed_in(console, role)
    assert (await console.get(f"/console/members/{member.id}/export.json")).status_code == 403
    assert (await console.get(f"/console/members/{member.id}/erase")).status_code == 403
    refused = await console.post(f"/console/members/{member.id}/erase", {"confirm": "yes", "reason": "request 17"})
    assert refused.status_code == 403
    assert (await member_row(core, member.id)).phone == PHONE
    async with core.reading() as session:
        assert await recent(session, target=("member", str(member.id))) == []


async def test_erase_needs_the_confirm_step_and_a_reason_then_is_audited(console: Console, core: Core) -> None:
    member = await rich_member(core)
    await signed_in(console, "support")
    confirm_page = await console.get(f"/console/members/{member.id}/erase")
    assert confirm_page.status_code == 200
    assert "cannot be undone" in confirm_page.text
    assert 'name="confirm"' in confirm_page.text
    unconfirmed = await console.post(f"/console/members/{member.id}/erase", {"reason": "request 17"})
    assert unconfirmed.status_code == 422
    no_reason = await console.post(f"/console/members/{member.id}/erase", {"confirm": "yes", "reason": ""})
    assert no_reason.status_code == 422
    assert "say why" in no_reason.text
    assert (await member_row(core, member.id)).phone == PHONE  # nothing happened yet

    done = await console.post(f"/console/members/{member.id}/erase", {"confirm": "yes", "reason": "request 17"})
    assert done.status_code == 303
    row = await member_row(core, member.id)
    assert row.phone.startswith("erased:")
    assert row.first_name is None
    found = await console.get("/console/members/?q=%2B79161112233")
    assert str(member.id) not in found.text
    assert (await console.get(f"/console/members/?q={member.card_number}")).text.count(str(member.id)) == 0
    shown = await console.get(f"/console/members/{member.id}")
    assert "Erased member" in shown.text
    assert "Anna" not in shown.text
    assert PHONE not in shown.text
    again = await console.post(f"/console/members/{member.id}/erase", {"confirm": "yes", "reason": "request 17"})
    assert again.status_code == 404
    async with core.reading() as session:
        entries = await recent(session, target=("member", str(member.id)))
    assert [(e.action, e.actor, e.reason) for e in entries] == [("member.erase", "support@example.com", "request 17")]
    assert PHONE not in json.dumps([entries[0].before, entries[0].after])
