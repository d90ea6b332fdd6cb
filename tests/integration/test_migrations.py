"""Every migration goes up, down and up again, on the backend under test."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from alembic.script import ScriptDirectory

from shared.db.migrate import MIGRATIONS, alembic_config, check, downgrade, upgrade
from tests.conftest import BACKEND, _create_pg_database, _drop_pg_database


async def _fresh_database(tmp_path: Path, label: str) -> tuple[str, str]:
    if BACKEND == "postgres":
        name = f"loyalty_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        return await _create_pg_database(name), name
    return f"sqlite+aiosqlite:///{tmp_path / f'{label}.db'}", ""


def revisions() -> list[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


async def test_stairway(tmp_path: Path) -> None:
    if BACKEND == "postgres":
        name = f"loyalty_stairway_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = await _create_pg_database(name)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}"
    try:
        steps = revisions()
        assert steps, "no migrations found"
        script = ScriptDirectory.from_config(alembic_config(url))
        for revision in steps:
            down = script.get_revision(revision).down_revision or "base"
            await asyncio.to_thread(upgrade, url, revision)
            await asyncio.to_thread(downgrade, url, down if isinstance(down, str) else down[0])
            await asyncio.to_thread(upgrade, url, revision)
    finally:
        if BACKEND == "postgres":
            await _drop_pg_database(name)


async def test_models_match_migrations(tmp_path: Path) -> None:
    """`alembic check`: autogenerate against the migrated schema finds nothing to do, so every
    model is known to env.py and no type, index, nullability or server default differs from the migrations."""
    url, name = await _fresh_database(tmp_path, "check")
    try:
        await asyncio.to_thread(upgrade, url)
        await asyncio.to_thread(check, url)
    finally:
        if name:
            await _drop_pg_database(name)
