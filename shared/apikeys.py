"""API keys for tills and integrations: shown once, stored as a SHA-256 hash.

A key revoked with `loyalty apikey revoke NAME` answers 401 on its next request in every process.
A process remembers the keys it has seen live (`KeyCache`), but never trusts that memory alone: the
hot handlers (confirm, calculate) defer the check to their own transaction (`defer_check`), where it
rides in the first statement (confirm's member lock) or in one statement on the transaction's
connection at its end, before the commit; the other handlers look the key up as before.
`last_used_at` is written at most every few minutes per key and process.
"""

from __future__ import annotations

import hashlib
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.clock import Clock
from shared.db.models import ApiKey
from shared.errors import KeyRevoked, NotFound

SCOPES = ("pos", "staff")
LAST_USED_EVERY = timedelta(minutes=5)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession, clock: Clock, name: str, scope: str = "pos", *, partner_id: int | None = None
) -> str:
    """A new key, returned once. A partner's key (partner_id) is a till key for that partner's stores only."""
    if scope not in SCOPES or (partner_id is not None and scope != "pos"):
        raise ValueError(f"scope must be one of {SCOPES} (a partner's key: pos)")
    key = "lk_" + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            name=name,
            prefix=key[:10],
            key_hash=hash_key(key),
            scope=scope,
            partner_id=partner_id,
            created_at=clock.now(),
        )
    )
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
    partner_id: int | None = None  # a partner's till key: its stores only (shared.partners.StorePartners)


async def live_key(connection: AsyncConnection, key: str) -> LiveKey | None:
    """The request path: one indexed SELECT of four columns on a bare connection."""
    if not plausible(key):
        return None
    row = (
        await connection.execute(
            select(ApiKey.id, ApiKey.scope, ApiKey.last_used_at, ApiKey.partner_id).where(
                ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)
            )
        )
    ).one_or_none()
    return LiveKey(row.id, row.scope, row.last_used_at, row.partner_id) if row is not None else None


class KeyCache:
    """Keys this process has seen live, by hash: spares the lookup's own connection and round trips.
    An entry is only a hint; the deferred check in the request's transaction decides."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._by_hash: dict[str, LiveKey] = {}

    def get(self, key: str) -> LiveKey | None:
        return self._by_hash.get(hash_key(key)) if plausible(key) else None

    def remember(self, key: str, live: LiveKey) -> None:
        if len(self._by_hash) >= self.LIMIT:
            self._by_hash.clear()
        self._by_hash[hash_key(key)] = live

    def forget(self, key_id: int) -> None:
        for digest in [d for d, live in self._by_hash.items() if live.id == key_id]:
            del self._by_hash[digest]


# The key the current request was let in with, still to be checked in its transaction (None: nothing due).
_unchecked: ContextVar[int | None] = ContextVar("api_key_unchecked", default=None)
KEY_IS_LIVE = exists().where(ApiKey.id == bindparam("api_key_id"), ApiKey.revoked_at.is_(None))
_CHECK = select(KEY_IS_LIVE)


def defer_check(key_id: int | None) -> None:
    """Let the request in on a remembered key; its transaction checks the key before anything counts."""
    _unchecked.set(key_id)


def take_unchecked() -> int | None:
    """The key still to check, handed to whoever checks it (then nothing is due any more)."""
    key_id = _unchecked.get()
    if key_id is not None:
        _unchecked.set(None)
    return key_id


def refuse(key_id: int) -> KeyRevoked:
    return KeyRevoked("The API key is unknown or revoked.", key_id=key_id)


async def check_unchecked(conn: AsyncConnection | AsyncSession) -> None:
    """One indexed probe on the request's own connection; KeyRevoked when the key went."""
    key_id = take_unchecked()
    if key_id is not None and not (await conn.execute(_CHECK, {"api_key_id": key_id})).scalar():
        raise refuse(key_id)


def check_params(key_id: int | None) -> dict[str, Any]:
    """Parameters for a statement that carries KEY_IS_LIVE (no key due: a probe that is simply ignored)."""
    return {"api_key_id": key_id if key_id is not None else -1}


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
