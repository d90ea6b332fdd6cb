"""Retention: personal data that has served its purpose is blanked or deleted on a schedule.

- message addresses and texts (and the subject, HTML and render context) after `message_days`;
  the message row itself stays, so delivery counts and SMS costs still add up;
- one-time login codes, and the outbox events that carried them in plain text, after `login_code_hours`.

PassKit device logs are not stored in the database (the web service only writes them to the process
log), so there is nothing to remove for them here.

Each step works in batches, one transaction per batch, and looks only at the data as of the moment
it is run: running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from shared.clock import Clock
from shared.config import RetentionSettings
from shared.db.models import OutboxEvent
from shared.db.models.login_codes import LoginCode
from shared.events import EventKind
from shared.privacy import messages

if TYPE_CHECKING:
    from shared.core import Core


@dataclass
class RetentionReport:
    messages_blanked: int = 0
    login_codes_deleted: int = 0
    code_events_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"{self.messages_blanked} messages blanked, {self.login_codes_deleted} login codes and "
            f"{self.code_events_deleted} code events deleted"
        )


async def run_retention(core: Core, clock: Clock, settings: RetentionSettings) -> RetentionReport:
    now = clock.now()
    report = RetentionReport()
    report.messages_blanked = await blank_old_messages(
        core, now - timedelta(days=settings.message_days), settings.batch_size
    )
    code_cutoff = now - timedelta(hours=settings.login_code_hours)
    report.login_codes_deleted = await _delete_in_batches(
        core, LoginCode.id, LoginCode.created_at < code_cutoff, settings.batch_size
    )
    report.code_events_deleted = await _delete_in_batches(
        core,
        OutboxEvent.id,
        (OutboxEvent.kind == EventKind.LOGIN_CODE.value)
        & (OutboxEvent.created_at < code_cutoff)
        & OutboxEvent.processed_at.is_not(None),
        settings.batch_size,
    )
    return report


async def blank_old_messages(core: Core, cutoff: object, batch: int) -> int:
    """Blank the address and text of messages created before the cutoff, oldest first, in batches."""
    done = 0
    while True:
        async with core.transaction() as session:
            ids = list(
                (
                    await session.execute(
                        select(messages.c.id)
                        .where(messages.c.created_at < cutoff, or_(messages.c.address != "", messages.c.text != ""))
                        .order_by(messages.c.id)
                        .limit(batch)
                    )
                ).scalars()
            )
            if ids:
                await session.execute(
                    update(messages)
                    .where(messages.c.id.in_(ids))
                    .values(address="", text="", html=None, subject=None, meta={})
                )
                # a recipient that is not a member id is an address (a phone asked for a code)
                await session.execute(
                    update(messages)
                    .where(messages.c.id.in_(ids), messages.c.member_id.is_(None))
                    .values(recipient="blanked:" + messages.c.id.cast(String))
                )
        done += len(ids)
        if len(ids) < batch:
            return done


async def _delete_in_batches(
    core: Core,
    id_column: InstrumentedAttribute[Any],
    where: ColumnElement[bool],
    batch: int,
) -> int:
    done = 0
    model = id_column.class_
    while True:
        async with core.transaction() as session:
            ids = list(
                (await session.execute(select(id_column).where(where).order_by(id_column).limit(batch))).scalars()
            )
            if ids:
                await session.execute(delete(model).where(id_column.in_(ids)))
        done += len(ids)
        if len(ids) < batch:
            return done
