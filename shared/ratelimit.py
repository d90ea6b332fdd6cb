"""Rate limits shared by every process: fixed-window counters in the database, or in Redis when
LOYALTY_REDIS_URL is set.

A counter is a key ("staff-fail:pair:<email>|<address>", "passkit-log:<address>", ...) with the hits of
its current window, the moment of the last hit and the moment the window ends. Times come from our
clock (tests and "as of" runs use a fixed one), in epoch seconds. Every hit is one atomic statement
(an upsert on SQLite and PostgreSQL, a Lua script in Redis), so concurrent processes never lose a
count. Ended database windows are swept by the process that counts, at most every few minutes
(`cleanup()`); Redis keys expire by themselves.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.db.models.rate_limits import RateLimitCounter

if TYPE_CHECKING:
    from shared.core import Core

MAX_KEY = 200


@dataclass(frozen=True)
class Counter:
    hits: int = 0
    last_at: float = 0.0
    resets_at: float = 0.0

    def retry_after(self, now: datetime) -> int:
        """Whole seconds (at least 1) until this window ends."""
        return max(1, int(self.resets_at - now.timestamp() + 0.999))


def backoff_seconds(counter: Counter, free: int, now: datetime, cap: float) -> int:
    """Growing delays: the first `free` hits cost nothing; after that the next attempt must wait
    2**(hits - free) seconds (capped) counted from the last hit. 0 means go ahead."""
    if counter.hits < free:
        return 0
    delay = min(cap, 2.0 ** min(counter.hits - free, 30))
    wait = counter.last_at + delay - now.timestamp()
    return int(wait + 0.999) if wait > 0 else 0


def _key(key: str) -> str:
    return key if len(key) <= MAX_KEY else key[: MAX_KEY - 33] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]


class RateLimits(ABC):
    @abstractmethod
    async def hit(self, key: str, window_seconds: float, now: datetime) -> Counter:
        """Count one hit; a window that has ended starts again with this hit."""

    @abstractmethod
    async def peek(self, key: str, now: datetime) -> Counter:
        """The live counter, or an empty one when there is none or its window has ended."""

    @abstractmethod
    async def clear(self, key: str) -> None: ...

    @abstractmethod
    async def cleanup(self, now: datetime) -> int:
        """Remove ended windows; returns how many."""

    async def close(self) -> None:
        return None


class DatabaseRateLimits(RateLimits):
    """Rows in rate_limits, each hit one INSERT ... ON CONFLICT DO UPDATE ... RETURNING."""

    SWEEP_SECONDS = 300.0

    def __init__(self, core: Core) -> None:
        self.core = core
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    async def hit(self, key: str, window_seconds: float, now: datetime) -> Counter:
        moment = now.timestamp()
        table: Table = RateLimitCounter.__table__
        dialect = self.core.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        values = insert(table).values(key=_key(key), hits=1, last_at=moment, resets_at=moment + window_seconds)
        ended = table.c.resets_at <= moment
        stmt = values.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((ended, 1), else_=table.c.hits + 1),
                "resets_at": case((ended, moment + window_seconds), else_=table.c.resets_at),
                "last_at": moment,
            },
        ).returning(table.c.hits, table.c.last_at, table.c.resets_at)
        async with self.core.transaction() as session:
            row = (await session.execute(stmt)).one()
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
                await session.execute(delete(RateLimitCounter).where(RateLimitCounter.resets_at <= moment))
        return Counter(int(row.hits), float(row.last_at), float(row.resets_at))

    async def peek(self, key: str, now: datetime) -> Counter:
        async with self.core.reading() as session:
            row = (
                await session.execute(
                    select(RateLimitCounter.hits, RateLimitCounter.last_at, RateLimitCounter.resets_at).where(
                        RateLimitCounter.key == _key(key)
                    )
                )
            ).one_or_none()
        if row is None or row.resets_at <= now.timestamp():
            return Counter()
        return Counter(int(row.hits), float(row.last_at), float(row.resets_at))

    async def clear(self, key: str) -> None:
        async with self.core.transaction() as session:
            await session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _key(key)))

    async def cleanup(self, now: datetime) -> int:
        async with self.core.transaction() as session:
            result = await session.execute(
                delete(RateLimitCounter).where(RateLimitCounter.resets_at <= now.timestamp())
            )
        return int(getattr(result, "rowcount", 0) or 0)


_HIT = """
local resets = tonumber(redis.call('HGET', KEYS[1], 'resets') or '0')
local now = tonumber(ARGV[1])
local hits
if resets <= now then
  resets = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'hits', 1, 'resets', tostring(resets))
  hits = 1
else
  hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
end
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) * 1000))
return {hits, tostring(resets)}
"""


class RedisRateLimits(RateLimits):
    """One hash per key (hits, last, resets); the key expires on its own after its window."""

    PREFIX = "loyalty:rl:"

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis: Any = Redis.from_url(url, decode_responses=True)
        self._script = self.redis.register_script(_HIT)

    async def hit(self, key: str, window_seconds: float, now: datetime) -> Counter:
        moment = now.timestamp()
        # the key lives for the window measured on the wall clock, at least a minute
        hits, resets = await self._script(
            keys=[self.PREFIX + _key(key)],
            args=[repr(moment), repr(float(window_seconds)), repr(max(60.0, float(window_seconds)))],
        )
        return Counter(int(hits), moment, float(resets))

    async def peek(self, key: str, now: datetime) -> Counter:
        values = await self.redis.hgetall(self.PREFIX + _key(key))
        if not values or float(values.get("resets", 0)) <= now.timestamp():
            return Counter()
        return Counter(int(values.get("hits", 0)), float(values.get("last", 0)), float(values["resets"]))

    async def clear(self, key: str) -> None:
        await self.redis.delete(self.PREFIX + _key(key))

    async def cleanup(self, now: datetime) -> int:
        return 0

    async def close(self) -> None:
        await self.redis.aclose()


_limits: weakref.WeakKeyDictionary[Core, RateLimits] = weakref.WeakKeyDictionary()


def rate_limits(core: Core) -> RateLimits:
    """The process's rate limits for this core: Redis when configured, else the database."""
    limits = _limits.get(core)
    if limits is None:
        url = core.settings.redis_url
        limits = RedisRateLimits(url) if url else DatabaseRateLimits(core)
        _limits[core] = limits
    return limits
