"""API keys for tills and integrations: shown once, stored as a SHA-256 hash.

Every request looks its key up by the hash's unique index (one small indexed SELECT, no cache), so a
key revoked with `loyalty apikey revoke NAME` answers 401 on its next request in every process.
`last_used_at` is written at most every few minutes per key and process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.clock import Clock
from shared.db.models import ApiKey
from shared.errors import NotFound

SCOPES = ("pos", "staff")
LAST_USED_EVERY = timedelta(minutes=5)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, clock: Clock, name: str, scope: str = "pos") -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    key = "lk_" + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, prefix=key[:10], key_hash=hash_key(key), scope=scope, created_at=clock.now()))
    return key


def plausible(key: str) -> bool:
    return key.startswith("lk_") and len(key) <= 100


async def find_api_key(session: AsyncSession, key: str) -> ApiKey | None:
    """The live key with this value; hashes are compared by the unique index, not in Python."""
    if not plausible(key):
        return None
    row = (await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None


@dataclass(frozen=True)
class LiveKey:
    id: int
    scope: str
    last_used_at: datetime | None


async def live_key(connection: AsyncConnection, key: str) -> LiveKey | None:
    """The request path: one indexed SELECT of three columns on a bare connection."""
    if not plausible(key):
        return None
    row = (
        await connection.execute(
            select(ApiKey.id, ApiKey.scope, ApiKey.last_used_at).where(
                ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)
            )
        )
    ).one_or_none()
    return LiveKey(row.id, row.scope, row.last_used_at) if row is not None else None


def needs_last_used(key: LiveKey, now: datetime) -> bool:
    return key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY


async def mark_used(session: AsyncSession, key_id: int, now: datetime) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now)
    )


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.execute(select(ApiKey).order_by(ApiKey.name, ApiKey.created_at))).scalars())


async def revoke_api_key(session: AsyncSession, clock: Clock, name: str) -> int:
    """Revoke every live key with this name; how many. NotFound when there is none."""
    result = await session.execute(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=clock.now())
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if not count:
        raise NotFound(f"No live API key named {name!r}.")
    return count
