"""POST /wallet/apple/v1/log has no authentication by protocol: it is rate-limited per address, in the
shared counters, so every web process sees the same count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from webapp.passkit import LOG_POSTS_PER_HOUR

LOG = "/wallet/apple/v1/log"


@asynccontextmanager
async def device(core: Core, settings: Settings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    from webapp.app import create_app

    app = create_app(settings, core=core)
    for hook in app.on_startup:
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            yield http
    finally:
        for hook in app.on_shutdown:
            await hook(app)


async def test_log_posts_are_limited_per_address_across_processes(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    other = Core(settings, clock)  # a second web process on the same database
    try:
        async with (
            device(core, settings, "203.0.113.5") as first,
            device(other, settings, "203.0.113.5") as second,
            device(core, settings, "198.51.100.9") as elsewhere,
        ):
            for i in range(LOG_POSTS_PER_HOUR):
                answer = await (first if i % 2 else second).post(LOG, json={"logs": [f"line {i}"]})
                assert answer.status_code == 200
            flooded = await first.post(LOG, json={"logs": ["one more"]})
            assert flooded.status_code == 429
            assert 0 < int(flooded.headers["retry-after"]) <= 3600
            assert (await second.post(LOG, json={"logs": ["and another"]})).status_code == 429
            assert (await elsewhere.post(LOG, json={"logs": ["a device elsewhere"]})).status_code == 200
            clock.advance(hours=1)
            assert (await first.post(LOG, json={"logs": ["an hour later"]})).status_code == 200
    finally:
        await other.close()
