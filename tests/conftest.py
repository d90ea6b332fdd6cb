"""Test set-up: every suite runs on SQLite and on PostgreSQL (LOYALTY_TEST_DB=sqlite|postgres).

PostgreSQL gets a fresh database per run, migrated once; tables are emptied between tests.
LOYALTY_TEST_DB=pgbouncer runs only the tests marked `pgbouncer`, as on PostgreSQL, but the app and the
migrations reach the database through PgBouncer in transaction mode (`.ci/pgbouncer`, 127.0.0.1:6543)
with the statement cache off.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from shared.apikeys import create_api_key
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.migrate import upgrade

BACKEND = os.environ.get("LOYALTY_TEST_DB", "sqlite")
ON_POSTGRES = BACKEND in ("postgres", "pgbouncer")
PG_ADMIN = os.environ.get("LOYALTY_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PGBOUNCER = os.environ.get("LOYALTY_TEST_PGBOUNCER", "127.0.0.1:6543")  # host:port of `.ci/pgbouncer`
STATEMENT_CACHE = 0 if BACKEND == "pgbouncer" else None  # LOYALTY_DB_STATEMENT_CACHE_SIZE of the app under test
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
# A developer's .env must not change what the tests (and the CLI processes they start) see.
os.environ.setdefault("LOYALTY_ENV_FILE", os.devnull)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "pgbouncer":  # only what is meant to prove itself through PgBouncer
        kept = [item for item in items if "pgbouncer" in item.keywords]
        dropped = [item for item in items if "pgbouncer" not in item.keywords]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    if not ON_POSTGRES:
        skip = pytest.mark.skip(reason="runs on PostgreSQL only (LOYALTY_TEST_DB=postgres)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


async def _create_pg_database(name: str) -> str:
    import asyncpg

    admin = PG_ADMIN.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def backend_url(url: str) -> str:
    """A PostgreSQL URL as the app under test reaches it: through PgBouncer when BACKEND is pgbouncer."""
    if BACKEND != "pgbouncer":
        return url
    user, rest = url.split("@", 1)
    return f"{user}@{PGBOUNCER}/{rest.split('/', 1)[1]}"


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
async def database_url(var_dir: Path) -> AsyncIterator[str]:
    if ON_POSTGRES:
        name = f"loyalty_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = await _create_pg_database(name)
        url = backend_url(url)
        await asyncio.to_thread(upgrade, url, "heads", STATEMENT_CACHE)
        yield url
        await _drop_pg_database(name)
    else:
        url = f"sqlite+aiosqlite:///{var_dir / 'test.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=var_dir,
        secret_key="test-secret-" + "x" * 32,
        public_url="http://testserver.local",
        db_statement_cache_size=STATEMENT_CACHE,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


async def empty_tables(core: Core) -> None:
    """Empty every table the migrations made (whichever package owns it). A bare session, so the
    core does not load the previous test's program version on the way."""
    async with core.sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            names = (
                (
                    await session.execute(
                        text(
                            "SELECT tablename FROM pg_tables "
                            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            await session.execute(
                text(f"TRUNCATE {', '.join(chr(34) + n + chr(34) for n in names)} RESTART IDENTITY CASCADE")
            )
        else:
            await session.execute(text("PRAGMA defer_foreign_keys = ON"))
            names = (
                (
                    await session.execute(
                        text(
                            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                            "AND name <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            for name in names:
                await session.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
async def core(settings: Settings, clock: FixedClock) -> AsyncIterator[Core]:
    core = Core(settings, clock)
    await empty_tables(core)
    yield core
    await core.close()


@pytest.fixture
async def api_key(core: Core) -> str:
    async with core.transaction() as session:
        return await create_api_key(session, core.clock, "test-till", scope="staff")


@asynccontextmanager
async def app_client(app: Litestar, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client over the real ASGI app on the test's own event loop (the database pool
    lives there; Litestar's AsyncTestClient would run the app in a thread with another loop)."""
    for hook in app.on_startup:  # app.lifespan() would tie a task group to the fixture's task
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local", headers=headers) as http:
            yield http
    finally:
        for hook in app.on_shutdown:
            await hook(app)


@pytest.fixture
async def client(core: Core, settings: Settings, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    from webapp.app import create_app

    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {api_key}") as http:
        yield http
