"""Delivery reports from providers (HTTP callbacks, SMPP receipts) applied to messages."""

from __future__ import annotations

from sqlalchemy import select

from notifications.channels.base import DeliveryStatus
from notifications.delivery import fall_through
from shared.core import Core
from shared.db.models.messages import DELIVERED, UNDELIVERABLE, Message
from shared.metrics import DELIVERY_REPORTS


async def record_delivery_report(
    core: Core,
    *,
    channel: str,
    provider_id: str | None,
    message_id: int | None,
    status: DeliveryStatus,
    error: str | None,
    phone: str | None = None,
) -> bool:
    """A provider's delivery report (callback or SMPP receipt); False when no such message exists.

    With ``phone`` (SMSC names a message by request id and phone) the provider id decides, and
    ``message_id`` is only a fallback for a report that beat the recording of the send, taken when that
    message went to this phone (a batch's id is its first message's id, shared by the others)."""
    async with core.transaction() as session:
        base = select(Message).where(Message.channel == channel)
        lock = session.get_bind().dialect.name == "postgresql"
        queries = []
        # A provider id may repeat (a batch re-sent under an earlier id): the newest message owns it.
        newest = base.where(Message.provider_id == provider_id).order_by(Message.id.desc()).limit(1)
        if phone is not None and provider_id:
            queries.append(newest)
        if message_id is not None:
            queries.append(base.where(Message.id == message_id))
        elif provider_id and phone is None:
            queries.append(newest)
        message = None
        for stmt in queries:
            message = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
            if message is not None and phone is not None and _digits(message.address) != _digits(phone):
                message = None
            if message is not None:
                break
        if message is None:
            return False
        now = core.clock.now()
        if status == DeliveryStatus.DELIVERED:
            message.status, message.delivered_at, message.fallback_at = DELIVERED, now, None
        elif status == DeliveryStatus.UNDELIVERABLE and message.status != UNDELIVERABLE:
            message.status, message.error, message.fallback_at = UNDELIVERABLE, error or "not delivered", None
            await fall_through(session, core.settings, message, now)
    DELIVERY_REPORTS.labels(channel, str(status)).inc()
    return True


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())
