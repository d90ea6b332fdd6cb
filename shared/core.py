"""The core's runtime: settings, engine and clock, handing out transactions to any caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.program import ProgramRules


class Core:
    """One per process: web handlers, bot handlers, jobs and the CLI all get sessions here."""

    def __init__(self, settings: Settings, clock: Clock | None = None, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.rules: ProgramRules = settings.program
        self.clock: Clock = clock or SystemClock()
        self.engine = engine or create_engine(settings.db_url, settings.db_pool_size)
        self.sessions = create_sessionmaker(self.engine)
        # SQLite has one writer at a time: queue writers of this process here instead of letting
        # them spin in SQLite's busy handler (other processes still wait on busy_timeout).
        self._sqlite_writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One business operation: commits on success, rolls back on any error."""
        if self._sqlite_writer is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._sqlite_writer, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
