"""The one small port every channel adapter implements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class DeliveryStatus(StrEnum):
    SENT = "sent"  # the provider accepted it; a delivery report may follow
    DELIVERED = "delivered"  # the provider confirmed delivery to the device
    FAILED = "failed"  # transient: worth retrying later (timeouts, 5xx, 429)
    UNDELIVERABLE = "undeliverable"  # permanent: this address cannot get it (blocked bot, 410, bad number)


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient on one channel."""

    id: int  # messages.id: providers use it as the idempotency/client reference
    channel: str  # sms | viber | email | push | telegram | log
    to: str  # phone (E.164), e-mail, push subscription JSON, Telegram chat id
    text: str
    kind: str  # message type: points_accrued, login_code, campaign, ...
    subject: str | None = None  # e-mail subject, push title
    html: str | None = None  # e-mail HTML part
    language: str = "ru"
    member_id: uuid.UUID | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. unsubscribe URL, push URL, buttons


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    provider_id: str | None = None
    error: str | None = None
    cost_parts: int = 0  # SMS parts billed
    retry_after: float | None = None  # seconds, when the provider said so (Telegram 429)
    # FAILED, but the provider may have taken it (timed out or cut off after the request went out):
    # never resent blindly; the worker asks the provider first where it can (`lookup`)
    ambiguous: bool = False


class Channel(Protocol):
    """Deliver messages of one channel through one provider."""

    name: str
    batch_size: int  # 1 when the provider has no batch endpoint

    async def send(self, message: OutgoingMessage) -> DeliveryResult: ...

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]: ...

    async def close(self) -> None: ...
