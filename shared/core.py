"""The core's runtime: settings, engine and clock, handing out transactions to any caller."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.apikeys import KeyCache, check_unchecked
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.db.models.console import ProgramVersion
from shared.errors import DomainError, KeyRevoked
from shared.partners import StorePartners
from shared.program import ProgramRules
from shared.program_versions import newest_version_id

log = logging.getLogger(__name__)
RULES_CHECK_SECONDS = 3.0


class Core:
    """One per process: web handlers, bot handlers, jobs and the CLI all get sessions here.

    `async with Core(settings) as core:` closes the engine at the end."""

    def __init__(self, settings: Settings, clock: Clock | None = None, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self._rules: ProgramRules = settings.program
        self.rules_version: int | None = None  # None: the program file's rules are in force
        self._rules_checked_at = float("-inf")
        self.clock: Clock = clock or SystemClock()
        self.engine = engine or create_engine(settings.db_url, settings.db_pool_size, settings.db_statement_cache_size)
        self.sessions = create_sessionmaker(self.engine)
        # SQLite has one writer at a time: queue writers of this process here instead of letting
        # them spin in SQLite's busy handler (other processes still wait on busy_timeout).
        self._sqlite_writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        self.api_keys = KeyCache()  # API keys seen live by this process (a hint; see shared.apikeys)
        self.store_partners = StorePartners()  # each store's partner, for partners' keys (shared.partners)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One business operation: commits on success, rolls back on any error."""
        if self._sqlite_writer is None:
            async with self.sessions() as session, session.begin(), self._key_checked(session):
                await self._refresh_rules(session)
                yield session
            return
        async with self._sqlite_writer, self.sessions() as session, session.begin(), self._key_checked(session):
            await self._refresh_rules(session)
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, self._key_checked(session):
            await self._refresh_rules(session)
            yield session

    @asynccontextmanager
    async def _key_checked(self, session: AsyncSession) -> AsyncIterator[None]:
        """An API request let in on a remembered key: unless the operation checked the key already
        (confirm does, in its first statement), check it on this connection before the commit, or
        before a domain error tells a revoked key anything."""
        try:
            try:
                yield
            except KeyRevoked:
                raise
            except DomainError:
                await check_unchecked(session)
                raise
            await check_unchecked(session)
        except KeyRevoked as revoked:
            self.api_keys.forget(revoked.key_id)
            raise

    async def current_rules(self) -> ProgramRules:
        """The rules in force after checking for a newer saved version (a process that has just started
        holds the program file's until its first transaction)."""
        async with self.reading():
            return self._rules

    @property
    def rules(self) -> ProgramRules:
        """The program rules in force: the newest saved version, else the program file."""
        return self._rules

    def use_rules(self, version: int, rules: ProgramRules) -> None:
        """Put a version just saved in force in this process at once (others follow within seconds)."""
        if self.rules_version is None or version > self.rules_version:
            self._rules, self.rules_version = rules, version

    async def _refresh_rules(self, session: AsyncSession) -> None:
        """At most every few seconds: one indexed max() to see whether a newer version was saved."""
        moment = time.monotonic()
        if moment - self._rules_checked_at < RULES_CHECK_SECONDS:
            return
        self._rules_checked_at = moment
        newest = await newest_version_id(session)
        if newest is None:  # no version saved (or the versions were removed): the program file rules
            self._rules, self.rules_version = self.settings.program, None
            return
        if newest == self.rules_version:
            return
        version = await session.get(ProgramVersion, newest)
        if version is None:
            return
        try:
            self.use_rules(version.id, ProgramRules.model_validate(version.rules))
        except ValueError:
            log.exception("program version %s does not validate; keeping version %s", version.id, self.rules_version)

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Core:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
