"""Outbound webhooks: the endpoints integrators subscribe and one delivery row per (endpoint, event)
(shared/webhooks.py writes them, notifications/webhooks.py sends them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK, SecretText

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"  # its endpoint was disabled (410) before it got through


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]]
    secret: Mapped[SecretStr] = mapped_column(SecretText)  # whsec_<base64>, a SecretStr in Python
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))

    def __repr__(self) -> str:
        return f"WebhookEndpoint(id={self.id!r}, active={self.active!r}, events={self.events!r})"


class WebhookDelivery(Base):
    """One event for one endpoint; its id is the `webhook-id` the receiver deduplicates by, the
    same on every attempt and on a replay."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    endpoint_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(100))  # what the event is about, so it is planned once
    event_kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"
