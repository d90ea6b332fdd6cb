"""shared/ratelimit.py: counters shared by every process, atomic under concurrency, with windows that end
and are swept; the same behaviour from the database and from Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models.rate_limits import RateLimitCounter
from shared.ratelimit import Counter, DatabaseRateLimits, RateLimits, RedisRateLimits, backoff_seconds, rate_limits
from tests.conftest import T0

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["database", "redis"])
async def limits(request: pytest.FixtureRequest, core: Core) -> AsyncIterator[RateLimits]:
    if request.param == "database":
        yield DatabaseRateLimits(core)
        return
    backend = RedisRateLimits(REDIS)
    try:
        await backend.redis.ping()
    except Exception as exc:  # the test set-up (.ci/services) starts Redis: its absence is a failure, not a skip
        pytest.fail(f"no Redis at 127.0.0.1:6379 (run ./.ci/services): {exc}")
    yield backend
    await backend.close()


async def test_concurrent_hits_from_two_processes_are_all_counted(
    core: Core, settings: Settings, clock: FixedClock, limits: RateLimits
) -> None:
    key = "test:" + uuid.uuid4().hex
    other_core = Core(settings, clock)
    other = DatabaseRateLimits(other_core) if isinstance(limits, DatabaseRateLimits) else RedisRateLimits(REDIS)
    try:
        counters = await asyncio.gather(*(backend.hit(key, 60, T0) for backend in [limits, other] * 10))
        assert sorted(c.hits for c in counters) == list(range(1, 21))
        assert (await other.peek(key, T0)).hits == 20
    finally:
        await other.close()
        await other_core.close()


async def test_a_window_ends_and_starts_again(limits: RateLimits) -> None:
    key = "test:" + uuid.uuid4().hex
    first = await limits.hit(key, 60, T0)
    assert (first.hits, first.resets_at) == (1, T0.timestamp() + 60)
    second = await limits.hit(key, 60, T0 + timedelta(seconds=30))
    assert (second.hits, second.last_at, second.retry_after(T0 + timedelta(seconds=30))) == (
        2,
        (T0 + timedelta(seconds=30)).timestamp(),
        30,
    )
    assert (await limits.peek(key, T0 + timedelta(seconds=60))).hits == 0
    fresh = await limits.hit(key, 60, T0 + timedelta(seconds=61))
    assert (fresh.hits, fresh.resets_at) == (1, T0.timestamp() + 121)
    await limits.clear(key)
    assert await limits.peek(key, T0 + timedelta(seconds=61)) == Counter()


async def test_ended_windows_are_swept_from_the_database(core: Core) -> None:
    limits = rate_limits(core)
    assert isinstance(limits, DatabaseRateLimits)
    await limits.hit("short", 10, T0)
    await limits.hit("long", 3600, T0)
    assert await limits.cleanup(T0 + timedelta(seconds=11)) == 1
    async with core.reading() as session:
        assert (await session.execute(select(RateLimitCounter.key))).scalars().all() == ["long"]
    limits._next_sweep = 0  # the next hit sweeps on its own
    await limits.hit("other", 10, T0 + timedelta(hours=2))
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(RateLimitCounter))).scalar_one() == 1


def test_backoff_grows_from_the_last_failure() -> None:
    now = T0.timestamp()
    assert backoff_seconds(Counter(4, now, now + 900), 5, T0, 900) == 0
    assert backoff_seconds(Counter(5, now, now + 900), 5, T0, 900) == 1
    assert backoff_seconds(Counter(8, now, now + 900), 5, T0, 900) == 8
    assert backoff_seconds(Counter(40, now, now + 900), 5, T0, 900) == 900
    assert backoff_seconds(Counter(8, now - 8, now + 900), 5, T0, 900) == 0


async def test_a_redis_url_selects_redis(settings: Settings, clock: FixedClock) -> None:
    core = Core(settings.model_copy(update={"redis_url": REDIS}), clock)
    try:
        assert isinstance(rate_limits(core), RedisRateLimits)
        assert rate_limits(core) is rate_limits(core)
    finally:
        await rate_limits(core).close()
        await core.close()
