"""Console sessions end everywhere: sign-out, a new password, a role change and a deactivation kill every
copy of the cookie; an active session still ends at the absolute lifetime."""

from __future__ import annotations

import re

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.staff import set_password, update_staff
from tests.integration.console.test_console_routes import PASSWORD, Console, console, password_hash, signed_in, staff

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the route tests


async def stolen_copy(console: Console) -> str:
    """The signed-in cookie as a thief would keep it, proven to work."""
    await signed_in(console, "admin")
    assert (await console.get("/console/staff/")).status_code == 200
    return console.session


async def test_sign_out_ends_every_copy_of_the_session(console: Console) -> None:
    copy = await stolen_copy(console)
    signed_out = await console.post("/console/logout", {})
    assert signed_out.status_code == 303
    page = await console.get("/console/staff/", session=copy)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login"
    assert "console_session=ey" not in page.headers.get("set-cookie", "")  # and no renewal of the dead cookie
    assert (await signed_in(console, "admin")).session != copy  # signing in again works
    assert (await console.get("/console/staff/")).status_code == 200


async def test_a_new_password_ends_old_sessions(console: Console, core: Core, staff: dict[str, int]) -> None:
    copy = await stolen_copy(console)
    async with core.transaction() as session:
        await set_password(session, core.clock, staff["admin"], "a brand new password", actor="t")
    assert (await console.get("/console/staff/", session=copy)).status_code == 303
    assert (await console.sign_in("admin@example.com", PASSWORD)).status_code == 401
    assert (await console.sign_in("admin@example.com", "a brand new password")).status_code == 303


async def test_an_admin_sets_a_password_in_the_console_and_that_ends_the_persons_sessions(
    console: Console, core: Core, settings: Settings, staff: dict[str, int]
) -> None:
    from tests.conftest import app_client
    from webapp.app import create_app

    async with app_client(create_app(settings, core=core)) as other_http:
        marketer = Console(other_http)
        await signed_in(marketer, "marketer")
        assert (await marketer.get("/console/reports/")).status_code == 200
        await signed_in(console, "admin")
        short = await console.post(f"/console/staff/{staff['marketer']}/password", {"password": "short"})
        assert short.status_code == 422
        assert "at least 10 characters" in short.text
        done = await console.post(f"/console/staff/{staff['marketer']}/password", {"password": "another long one"})
        assert done.status_code == 303
        assert (await marketer.get("/console/reports/")).status_code == 303
        assert (await console.get("/console/staff/")).status_code == 200  # the admin's own session lives on


async def test_a_role_change_ends_old_sessions(console: Console, core: Core, staff: dict[str, int]) -> None:
    await signed_in(console, "marketer")
    copy = console.session
    async with core.transaction() as session:
        await update_staff(session, core.clock, staff["marketer"], role="analyst", active=True, actor="t")
    assert (await console.get("/console/reports/", session=copy)).status_code == 303
    await signed_in(console, "marketer")  # the e-mail is still marketer@, now with the analyst role
    assert (await console.get("/console/reports/")).status_code == 200


async def test_deactivation_and_reactivation_do_not_revive_an_old_cookie(
    console: Console, core: Core, staff: dict[str, int]
) -> None:
    await signed_in(console, "support")
    copy = console.session
    async with core.transaction() as session:
        await update_staff(session, core.clock, staff["support"], role="support", active=False, actor="t")
        await update_staff(session, core.clock, staff["support"], role="support", active=True, actor="t")
    assert (await console.get("/console/members/", session=copy)).status_code == 303


async def test_an_active_session_ends_at_the_absolute_lifetime(
    console: Console, clock: FixedClock, settings: Settings
) -> None:
    assert settings.console_session_max_hours == 12
    await signed_in(console, "analyst")
    cookie = console.session
    for _ in range(35):  # a page every 20 minutes for 11 h 40 min: renewed all along
        clock.advance(minutes=20)
        response = await console.get("/console/reports/", session=cookie)
        assert response.status_code == 200
        match = re.search(r"console_session=([^;]+)", response.headers["set-cookie"])
        assert match is not None
        cookie = match.group(1)
    max_age = re.search(r"Max-Age=(\d+)", response.headers["set-cookie"], re.I)
    assert max_age is not None
    assert int(max_age.group(1)) == 20 * 60
    clock.advance(minutes=20)  # 12 h after signing in
    assert (await console.get("/console/reports/", session=cookie)).status_code == 303


async def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(console: Console) -> None:
    await signed_in(console, "analyst")
    copy = console.session
    wrong = await console.post(
        "/console/password", {"current": "not it", "password": "a new password 1", "repeat": "a new password 1"}
    )
    assert wrong.status_code == 401
    assert "current password is wrong" in wrong.text
    differ = await console.post(
        "/console/password", {"current": PASSWORD, "password": "a new password 1", "repeat": "a new password 2"}
    )
    assert differ.status_code == 422
    changed = await console.post(
        "/console/password", {"current": PASSWORD, "password": "a new password 1", "repeat": "a new password 1"}
    )
    assert changed.status_code == 303
    match = re.search(r"console_session=([^;]+)", changed.headers["set-cookie"])
    assert match is not None
    assert (await console.get("/console/reports/", session=match.group(1))).status_code == 200
    assert (await console.get("/console/reports/", session=copy)).status_code == 303
    assert (await console.sign_in("analyst@example.com", "a new password 1")).status_code == 303
