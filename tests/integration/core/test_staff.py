"""Staff accounts: argon2 hashes, sign-in, roles, and the last admin kept."""

from __future__ import annotations

import pytest

from shared.audit import recent
from shared.core import Core
from shared.errors import Conflict, InvalidInput
from shared.staff import authenticate, create_staff, update_staff


async def test_passwords_are_argon2_hashes_and_sign_in_checks_them(core: Core) -> None:
    async with core.transaction() as session:
        account = await create_staff(session, core.clock, " Mila@Example.com ", "marketer", "long enough pw")
    assert account.email == "mila@example.com"
    assert account.password_hash.startswith("$argon2")
    async with core.transaction() as session:
        assert await authenticate(session, core.clock, "MILA@example.com", "long enough pw") is not None
        assert await authenticate(session, core.clock, "mila@example.com", "wrong password!") is None
        assert await authenticate(session, core.clock, "nobody@example.com", "long enough pw") is None
        assert [e.action for e in await recent(session)] == ["staff.create"]


async def test_bad_accounts_are_refused_with_every_reason(core: Core) -> None:
    with pytest.raises(InvalidInput) as problem:
        async with core.transaction() as session:
            await create_staff(session, core.clock, "not-an-email", "boss", "short")
    assert sorted(e.field for e in problem.value.errors) == ["email", "password", "role"]
    async with core.transaction() as session:
        await create_staff(session, core.clock, "a@example.com", "admin", "long enough pw")
    with pytest.raises(Conflict):
        async with core.transaction() as session:
            await create_staff(session, core.clock, "a@example.com", "support", "long enough pw")


async def test_the_last_active_admin_cannot_be_demoted_and_deactivated_staff_cannot_sign_in(core: Core) -> None:
    async with core.transaction() as session:
        admin = await create_staff(session, core.clock, "a@example.com", "admin", "long enough pw")
        other = await create_staff(session, core.clock, "s@example.com", "support", "long enough pw")
    with pytest.raises(Conflict):
        async with core.transaction() as session:
            await update_staff(session, core.clock, admin.id, role="marketer", active=True, actor="a@example.com")
    async with core.transaction() as session:
        await update_staff(session, core.clock, other.id, role="support", active=False, actor="a@example.com")
    async with core.transaction() as session:
        assert await authenticate(session, core.clock, "s@example.com", "long enough pw") is None
        entry = (await recent(session))[0]
    assert (entry.action, entry.before, entry.after) == (
        "staff.update",
        {"role": "support", "active": True},
        {"role": "support", "active": False},
    )
