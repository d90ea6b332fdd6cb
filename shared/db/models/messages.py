"""Messages: one row per (source, recipient, channel); what we know about reachability; browser push
subscriptions (one row per push-service endpoint)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK

QUEUED, SENDING, SENT, DELIVERED, FAILED, UNDELIVERABLE, SKIPPED = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "undeliverable",
    "skipped",
)


class Message(Base):
    """A rendered message for one recipient on one channel. The unique key makes a replayed
    event or a restarted worker unable to create it twice."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "recipient", "channel", name="uq_messages_source_recipient_channel"),
        Index("ix_messages_due", "status", "next_attempt_at"),
        Index("ix_messages_member_channel_created", "member_id", "channel", "created_at"),
        Index(
            "ix_messages_provider",
            "channel",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    promotional: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]]
    cascade: Mapped[list[Any]]  # channels still to try if this one fails
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    fallback_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    cost_parts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class ChannelStatus(Base):
    """A channel that cannot reach a member (bot blocked, address dead) until they fix it."""

    __tablename__ = "channel_status"
    __table_args__ = (UniqueConstraint("member_id", "channel", name="uq_channel_status_member_channel"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    unreachable_since: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    def as_subscription(self) -> dict[str, Any]:
        """The PushSubscriptionJSON shape a browser gave us (what OutgoingMessage.to carries as JSON)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def as_address(self) -> str:
        return json.dumps(self.as_subscription(), separators=(",", ":"))
