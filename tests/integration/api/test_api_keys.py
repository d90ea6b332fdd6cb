"""API keys: a revoked key answers 401 on its very next request in every process, on the hot paths too
(where a process remembers the key); last use is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import text

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


def _receipt(receipt_id: str, member: dict[str, str] | None) -> dict[str, object]:
    line = {"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1, "price": 25000, "amount": 25000}
    return {"store_id": "msk-001", "receipt_id": receipt_id, "member": member, "lines": [line]}


async def test_a_revoked_key_is_refused_on_the_next_confirm_by_every_app_instance(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    """The bound is the next request: confirm and calculate let a key the process remembers in
    without a lookup of their own, but check it in their own transaction before anything counts."""
    from webapp.app import create_app

    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "till-5")
    member = {"phone": "+79123456789"}
    other = Core(settings, clock)  # a second web process: its own engine and key cache, the same database
    try:
        async with (
            app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as first,
            app_client(create_app(settings, core=other), Authorization=f"Bearer {key}") as second,
        ):
            assert (await first.post("/api/v1/members", json=member)).status_code == 201
            for n, http in enumerate((first, second, first, second)):  # each process now remembers the key
                assert (await http.post("/api/v1/purchases", json=_receipt(f"A-{n}", member))).status_code == 201
                assert (await http.post("/api/v1/purchases", json=_receipt(f"B-{n}", None))).status_code == 201
            async with core.transaction() as session:
                assert await revoke_api_key(session, core.clock, "till-5") == 1
            attempts = [
                (second, "/api/v1/purchases", _receipt("A-9", member)),  # checked in the member's lock
                (first, "/api/v1/purchases", _receipt("B-9", None)),  # an anonymous receipt: before the commit
                (first, "/api/v1/purchases", _receipt("C-9", {"phone": "+79000000000"})),  # not a 404
                (second, "/api/v1/purchases/calculate", _receipt("D-9", member)),
                (first, "/api/v1/purchases", _receipt("A-9", member)),
            ]
            for http, path, body in attempts:
                refused = await http.post(path, json=body)
                assert refused.status_code == 401, (path, body["receipt_id"], refused.text)
                assert "unknown or revoked" in refused.text
        async with core.reading() as session:
            receipts = set((await session.execute(text("SELECT receipt_id FROM purchases"))).scalars())
        assert receipts == {f"{kind}-{n}" for kind in "AB" for n in range(4)}  # nothing after the revocation
    finally:
        await other.close()
