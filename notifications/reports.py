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
) -> bool:
    """A provider's delivery report (callback or SMPP receipt); False when no such message exists."""
    async with core.transaction() as session:
        stmt = select(Message).where(Message.channel == channel)
        if message_id is not None:
            stmt = stmt.where(Message.id == message_id)
        elif provider_id:
            stmt = stmt.where(Message.provider_id == provider_id)
        else:
            return False
        message = (
            await session.execute(stmt.with_for_update() if session.get_bind().dialect.name == "postgresql" else stmt)
        ).scalar_one_or_none()
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
