"""Console sign-in limits: counted in the shared rate-limit table (every process, every restart), per
account and address with growing delays; a stranger's failures never keep the owner out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from tests.integration.console.test_console_routes import PASSWORD, Console, password_hash, staff

__all__ = ["password_hash", "staff"]  # fixtures shared with the route tests


@asynccontextmanager
async def browser(settings: Settings, core: Core, address: str) -> AsyncIterator[Console]:
    """A console client from one address, on an app instance of its own (another web process)."""
    from webapp.app import create_app

    app = create_app(settings, core=core)
    for hook in app.on_startup:
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            yield Console(http)
    finally:
        for hook in app.on_shutdown:
            await hook(app)


async def test_a_stranger_cannot_lock_the_only_admin_out(
    settings: Settings, core: Core, clock: FixedClock, staff: dict[str, int]
) -> None:
    async with browser(settings, core, "203.0.113.66") as stranger, browser(settings, core, "198.51.100.7") as owner:
        for _ in range(5):
            assert (await stranger.sign_in("admin@example.com", "guess")).status_code == 401
        stopped = await stranger.sign_in("admin@example.com", "guess")
        assert stopped.status_code == 429
        assert stopped.headers["retry-after"] == "1"
        assert "Too many failed attempts" in stopped.text
        assert "Wait 1 second" in stopped.text
        # even the right password waits from the stranger's address
        assert (await stranger.sign_in("admin@example.com", PASSWORD)).status_code == 429
        signed = await owner.sign_in("admin@example.com", PASSWORD)
        assert signed.status_code == 303
        assert owner.session


async def test_delays_grow_and_pass(settings: Settings, core: Core, clock: FixedClock, staff: dict[str, int]) -> None:
    async with browser(settings, core, "203.0.113.66") as stranger:
        for _ in range(5):
            await stranger.sign_in("support@example.com", "guess")
        waits = []
        for _ in range(4):
            refused = await stranger.sign_in("support@example.com", "guess")
            assert refused.status_code == 429
            waits.append(int(refused.headers["retry-after"]))
            clock.advance(seconds=waits[-1])
            assert (await stranger.sign_in("support@example.com", "guess")).status_code == 401
        assert waits == [1, 2, 4, 8]
        clock.advance(seconds=16)
        assert (await stranger.sign_in("support@example.com", PASSWORD)).status_code == 303


async def test_two_app_instances_share_the_counters(
    settings: Settings, core: Core, clock: FixedClock, staff: dict[str, int]
) -> None:
    second_core = Core(settings, clock)  # another process: its own engine and memory, the same database
    try:
        async with (
            browser(settings, core, "203.0.113.66") as first,
            browser(settings, second_core, "203.0.113.66") as second,
        ):
            for client in (first, second, first, second, first):
                assert (await client.sign_in("marketer@example.com", "guess")).status_code == 401
            assert (await second.sign_in("marketer@example.com", PASSWORD)).status_code == 429
        await second_core.close()
        second_core = Core(settings, clock)  # a restart remembers too
        async with browser(settings, second_core, "203.0.113.66") as restarted:
            assert (await restarted.sign_in("marketer@example.com", PASSWORD)).status_code == 429
    finally:
        await second_core.close()


async def test_an_address_that_sprays_many_accounts_is_slowed(
    settings: Settings, core: Core, staff: dict[str, int]
) -> None:
    async with browser(settings, core, "203.0.113.99") as sprayer, browser(settings, core, "198.51.100.7") as owner:
        for i in range(20):
            assert (await sprayer.sign_in(f"nobody{i}@example.com", "guess")).status_code == 401
        assert (await sprayer.sign_in("analyst@example.com", PASSWORD)).status_code == 429
        assert (await owner.sign_in("analyst@example.com", PASSWORD)).status_code == 303
