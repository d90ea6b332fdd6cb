"""API keys for tills and integrations: shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.db.models import ApiKey

SCOPES = ("pos", "staff")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, clock: Clock, name: str, scope: str = "pos") -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    key = "lk_" + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, prefix=key[:10], key_hash=hash_key(key), scope=scope, created_at=clock.now()))
    return key


async def find_api_key(session: AsyncSession, key: str) -> ApiKey | None:
    """The live key with this value; hashes are compared by the unique index, not in Python."""
    if not key.startswith("lk_") or len(key) > 100:
        return None
    row = (await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None
