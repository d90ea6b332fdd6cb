"""Alembic environment: one history for SQLite and PostgreSQL, run over the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from shared.db.engine import create_engine
from shared.db.models import Base

config = context.config
# shared.db.models holds every table of every package (one module per area), so the metadata is
# complete: autogenerate and `alembic check` see the whole schema.
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    cache = config.get_main_option("loyalty.statement_cache_size")
    engine = create_engine(
        config.get_main_option("sqlalchemy.url") or "",
        pool_size=1,
        statement_cache_size=int(cache) if cache is not None else None,
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
