"""The audit log: every change made in the console, append-only (who, when, what, before/after)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.db.models.console import AuditEntry


def record(
    session: AsyncSession,
    clock: Clock,
    actor: str,
    action: str,
    target: tuple[str, str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an audit row in the caller's transaction, so it exists exactly when the change does."""
    entry = AuditEntry(
        at=clock.now(),
        actor=actor,
        action=action,
        target_kind=target[0],
        target_id=str(target[1])[:64],
        before=before,
        after=after,
        reason=reason,
    )
    session.add(entry)
    return entry


async def recent(
    session: AsyncSession, *, limit: int = 100, before_id: int | None = None, target: tuple[str, str] | None = None
) -> list[AuditEntry]:
    """Newest first; page on with before_id (the smallest id already shown)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    if target is not None:
        stmt = stmt.where(AuditEntry.target_kind == target[0], AuditEntry.target_id == str(target[1]))
    return list((await session.execute(stmt)).scalars())
