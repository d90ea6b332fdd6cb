"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.files import private_sqlite_file


def create_engine(url: str, pool_size: int = 10, statement_cache_size: int | None = None) -> AsyncEngine:
    """statement_cache_size: asyncpg's prepared statement cache per connection (None: asyncpg's default).
    0 is for PgBouncer in transaction mode, where a connection may land on another server connection.
    hide_parameters: SQL parameters (phone numbers, names, codes) never appear in errors or logs."""
    if url.startswith("sqlite"):
        private_sqlite_file(make_url(url).database)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        hide_parameters=True,
        connect_args=asyncpg_cache_args(statement_cache_size),
    )


def asyncpg_cache_args(statement_cache_size: int | None) -> dict[str, Any]:
    """connect_args for the SQLAlchemy asyncpg dialect: its own cache and asyncpg's both sized; with 0 every
    prepared statement gets a unique name, so two clients sharing a server connection never collide."""
    if statement_cache_size is None:
        return {}
    args: dict[str, Any] = {
        "prepared_statement_cache_size": statement_cache_size,
        "statement_cache_size": statement_cache_size,
    }
    if statement_cache_size == 0:
        args["prepared_statement_name_func"] = _unique_statement_name
    return args


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid4().hex}__"


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
