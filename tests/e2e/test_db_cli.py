"""`loyalty db upgrade` / `loyalty db downgrade REV` as an operator runs them (also through PgBouncer)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from shared.db.engine import create_engine
from shared.db.migrate import MIGRATIONS
from tests.conftest import ON_POSTGRES, STATEMENT_CACHE, _create_pg_database, _drop_pg_database, backend_url

pytestmark = pytest.mark.pgbouncer
ROOT = Path(__file__).resolve().parents[2]


def loyalty(url: str, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_VAR_DIR": str(var_dir), "LOYALTY_ENV_FILE": os.devnull}
    if STATEMENT_CACHE is not None:
        env["LOYALTY_DB_STATEMENT_CACHE_SIZE"] = str(STATEMENT_CACHE)
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "db", *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


async def version(url: str) -> str | None:
    engine = create_engine(url, pool_size=1, statement_cache_size=STATEMENT_CACHE)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    finally:
        await engine.dispose()


async def test_downgrade_one_step_and_back(tmp_path: Path) -> None:
    name = f"loyalty_cli_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = backend_url(await _create_pg_database(name)) if ON_POSTGRES else f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    try:
        up = await asyncio.to_thread(loyalty, url, tmp_path, "upgrade")
        assert up.returncode == 0, up.stderr
        assert await version(url) == head
        down = await asyncio.to_thread(loyalty, url, tmp_path, "downgrade", "-1")
        assert down.returncode == 0, down.stderr
        assert await version(url) == previous
        again = await asyncio.to_thread(loyalty, url, tmp_path, "upgrade")
        assert again.returncode == 0, again.stderr
        assert await version(url) == head
        named = await asyncio.to_thread(loyalty, url, tmp_path, "downgrade", previous)
        assert named.returncode == 0, named.stderr
        assert await version(url) == previous
        await asyncio.to_thread(loyalty, url, tmp_path, "upgrade")
        wrong = await asyncio.to_thread(loyalty, url, tmp_path, "downgrade", "nonsense")
        assert wrong.returncode != 0
        assert "nonsense" in wrong.stderr
        assert "Traceback" not in wrong.stderr
        assert await version(url) == head
    finally:
        if ON_POSTGRES:
            await _drop_pg_database(name)
