"""Revision 0005 (push_subscriptions) goes down and up again on the test database's engine."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db.migrate import downgrade, upgrade
from tests.conftest import BACKEND, _create_pg_database, _drop_pg_database


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_push_subscriptions_down_and_up(tmp_path: Path) -> None:
    name = f"loyalty_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if BACKEND == "postgres":
        url = await _create_pg_database(name)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'mig.db'}"
    try:
        await asyncio.to_thread(upgrade, url)
        assert "push_subscriptions" in await _tables(url)
        await asyncio.to_thread(downgrade, url, "0001")
        tables = await _tables(url)
        assert "push_subscriptions" not in tables
        assert "members" in tables
        await asyncio.to_thread(upgrade, url)
        assert "push_subscriptions" in await _tables(url)
    finally:
        if BACKEND == "postgres":
            await _drop_pg_database(name)
