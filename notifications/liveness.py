"""Worker heartbeats and the scheduler's lease: plain rows, so they work on SQLite, on PostgreSQL
and through PgBouncer in transaction mode (nothing lives on a session or a connection).

A worker upserts its heartbeat row every few seconds; /readyz and `loyalty worker --check` read it.
The scheduler lease is one row per name: a worker takes it when it is free or expired, or renews
it when it already holds it, in a single INSERT ... ON CONFLICT DO UPDATE ... WHERE statement."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import Core
from shared.db.models.workers import SchedulerLease, WorkerHeartbeat

SCHEDULER = "scheduler"


def this_host() -> str:
    return socket.gethostname()


def worker_identity() -> str:
    """host:pid, unique among running workers and readable in /readyz."""
    return f"{this_host()}:{os.getpid()}"


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def beat(core: Core, worker_id: str, host: str, pid: int, started_at: datetime) -> None:
    now = core.clock.now()
    async with core.transaction() as session:
        stmt = _insert(session)(WorkerHeartbeat).values(
            worker_id=worker_id, host=host, pid=pid, started_at=started_at, last_seen=now
        )
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["worker_id"], set_={"last_seen": now, "host": host, "pid": pid})
        )
        # rows of workers gone for a day are history nobody reads
        await session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - timedelta(days=1)))


@dataclass(frozen=True)
class Beat:
    worker_id: str
    host: str
    pid: int
    last_seen: datetime


async def heartbeats(core: Core, host: str | None = None) -> list[Beat]:
    """Every known worker, the most recent first (optionally only those of one host)."""
    query = select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc())
    if host is not None:
        query = query.where(WorkerHeartbeat.host == host)
    async with core.reading() as session:
        rows = (await session.execute(query)).scalars().all()
    return [Beat(r.worker_id, r.host, r.pid, r.last_seen) for r in rows]


async def acquire_lease(core: Core, holder: str, seconds: float, name: str = SCHEDULER) -> bool:
    """Take the lease if it is free or expired, renew it if `holder` has it; True when held."""
    now = core.clock.now()
    expires = now + timedelta(seconds=seconds)
    table = SchedulerLease.__table__
    async with core.transaction() as session:
        stmt = _insert(session)(SchedulerLease).values(name=name, holder=holder, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": holder, "expires_at": expires},
            where=(table.c.expires_at < now) | (table.c.holder == holder),
        ).returning(table.c.holder)
        won = (await session.execute(stmt)).scalar_one_or_none()
    return won == holder


async def release_lease(core: Core, holder: str, name: str = SCHEDULER) -> None:
    """Give the lease up at once (a clean stop), so another worker need not wait for the expiry."""
    async with core.transaction() as session:
        await session.execute(
            delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        )


async def lease_holder(core: Core, name: str = SCHEDULER) -> tuple[str, datetime] | None:
    """Who holds an unexpired lease, and until when."""
    async with core.reading() as session:
        row = (await session.execute(select(SchedulerLease).where(SchedulerLease.name == name))).scalar_one_or_none()
    if row is None or row.expires_at <= core.clock.now():
        return None
    return row.holder, row.expires_at
