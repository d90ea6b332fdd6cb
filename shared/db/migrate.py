"""Run Alembic from code (CLI, tests) without an alembic.ini on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str, statement_cache_size: int | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if statement_cache_size is not None:  # read by env.py (0 behind PgBouncer)
        config.set_main_option("loyalty.statement_cache_size", str(statement_cache_size))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def _in_thread(func: Callable[..., None], *args: Any) -> None:
    """env.py runs its own event loop; keep it off any loop the caller is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        func(*args)
        return
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(func, *args).result()


def upgrade(url: str, revision: str = "heads", statement_cache_size: int | None = None) -> None:
    _in_thread(command.upgrade, alembic_config(url, statement_cache_size), revision)


def downgrade(url: str, revision: str, statement_cache_size: int | None = None) -> None:
    _in_thread(command.downgrade, alembic_config(url, statement_cache_size), revision)
