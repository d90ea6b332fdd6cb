"""API keys: a revoked key answers 401 on its very next request in every process; last use is recorded."""

from __future__ import annotations

import pytest

from shared.apikeys import create_api_key, list_api_keys, revoke_api_key
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.errors import NotFound
from tests.conftest import T0, app_client

LOOKUP = ("/api/v1/members", {"phone": "+79123456789"})


async def test_a_revoked_key_is_refused_at_once_by_every_app_instance(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    from webapp.app import create_app

    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "till-3")
    other = Core(settings, clock)  # a second web process: its own engine and memory, the same database
    try:
        async with (
            app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as first,
            app_client(create_app(settings, core=other), Authorization=f"Bearer {key}") as second,
        ):
            for http in (first, second, first, second):  # warm whatever a process might remember
                assert (await http.get(LOOKUP[0], params=LOOKUP[1])).status_code != 401
            async with core.transaction() as session:
                assert await revoke_api_key(session, core.clock, "till-3") == 1
            for http in (second, first):
                refused = await http.get(LOOKUP[0], params=LOOKUP[1])
                assert refused.status_code == 401
                assert "unknown or revoked" in refused.text
    finally:
        await other.close()


async def test_last_use_is_recorded_every_few_minutes_and_listed(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    from webapp.app import create_app

    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "till-4", scope="pos")
        await create_api_key(session, core.clock, "never-used")
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as http:
        await http.get(LOOKUP[0], params=LOOKUP[1])
        clock.advance(minutes=2)
        await http.get(LOOKUP[0], params=LOOKUP[1])
        async with core.reading() as session:
            used = {k.name: k.last_used_at for k in await list_api_keys(session)}
        assert used == {"never-used": None, "till-4": T0}
        clock.advance(minutes=4)
        await http.get(LOOKUP[0], params=LOOKUP[1])
    async with core.reading() as session:
        assert {k.name: k.last_used_at for k in await list_api_keys(session)}["till-4"] == clock.now()


async def test_revoking_an_unknown_name_says_so(core: Core) -> None:
    async with core.transaction() as session:
        with pytest.raises(NotFound):
            await revoke_api_key(session, core.clock, "no-such-key")
