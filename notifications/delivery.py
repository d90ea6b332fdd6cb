"""What happens after a provider answers: statuses, retries with backoff, and falling through
the cascade to the next channel when one cannot deliver."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns import is_deferred
from notifications.channels.base import DeliveryResult, DeliveryStatus
from notifications.planner import insert_messages, message_row, queued_row
from notifications.recipients import load_member, login_recipient, recipient_for
from notifications.routing import next_channel
from notifications.templates import TextRefused
from shared.config import Settings
from shared.db.models.messages import DELIVERED, FAILED, SENDING, SENT, UNDELIVERABLE, ChannelStatus, Message
from shared.vocabulary import CHANNELS

log = logging.getLogger("loyalty.notifier")
# An undeliverable message marks its member unreachable on every channel but SMS.
UNREACHABLE_MARKED = frozenset(CHANNELS) - {"sms"}
FALLBACK_CHANNELS = frozenset({"viber"})  # channels whose delivery report decides the fall-through


def backoff(attempts: int, base: float) -> float:
    """Exponential backoff with full jitter: providers punish synchronised retry bursts."""
    return random.uniform(base / 2, base * 2 ** min(attempts - 1, 10))


async def apply_result(
    session: AsyncSession,
    settings: Settings,
    message: Message,
    result: DeliveryResult,
    now: datetime,
    *,
    askable: bool = True,
) -> None:
    """Record one provider answer. ``askable``: the channel can be asked by our id whether it already has
    a message (it implements ``lookup``); without that, an unknown outcome is never resent."""
    message.lease_until = None
    message.provider_id = result.provider_id or message.provider_id
    message.cost_parts = result.cost_parts or message.cost_parts
    if result.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
        message.status = SENT if result.status == DeliveryStatus.SENT else DELIVERED
        message.sent_at = now
        message.error = None
        if message.status == DELIVERED:
            message.delivered_at = now
        elif message.cascade and message.channel in FALLBACK_CHANNELS:
            message.fallback_at = now + timedelta(minutes=settings.notify.delivery_timeout_minutes)
        return
    message.error = (result.error or result.status.value)[:1000]
    if result.status == DeliveryStatus.FAILED and result.ambiguous:
        unknown_outcome(settings, message, result, now, askable=askable)
        return
    if result.status == DeliveryStatus.FAILED and message.attempts < settings.notify.max_attempts:
        message.status = FAILED
        delay = (
            result.retry_after
            if result.retry_after is not None
            else backoff(message.attempts, settings.notify.retry_base_seconds)
        )
        message.next_attempt_at = now + timedelta(seconds=delay)
        return
    # Terminal either way: a 'failed' row is due again at next_attempt_at, so attempts used up must
    # not stay 'failed' (the worker would claim it on every loop).
    if result.status == DeliveryStatus.FAILED:
        message.error = f"gave up after {message.attempts} attempts: {message.error}"[:1000]
    message.status = UNDELIVERABLE
    message.next_attempt_at = now
    if result.status == DeliveryStatus.UNDELIVERABLE and message.member_id and message.channel in UNREACHABLE_MARKED:
        await mark_unreachable(session, message, result.error or "undeliverable", now)
    await fall_through(session, settings, message, now)


def unknown_outcome(
    settings: Settings, message: Message, result: DeliveryResult, now: datetime, *, askable: bool = True
) -> None:
    """The provider may have the message (it timed out after taking the request): never resend blindly.
    The row stays 'sending' with its lease running out at the retry time, so the next claim treats it like
    a message a dead worker held: it asks the provider by our id (`lookup`) before sending again. Out of
    attempts, or at once on a channel that cannot be asked (SMTP, Telegram, Web Push), it ends
    undeliverable with the doubt in `error`, and does not fall through to another channel: the customer
    may have it already."""
    if askable and message.attempts < settings.notify.max_attempts:
        delay = (
            result.retry_after
            if result.retry_after is not None
            else backoff(message.attempts, settings.notify.retry_base_seconds)
        )
        message.status = SENDING
        message.lease_until = now + timedelta(seconds=delay)
        message.next_attempt_at = message.lease_until
        return
    message.status = UNDELIVERABLE
    message.cascade = []
    message.next_attempt_at = now
    message.error = f"outcome unknown after {message.attempts} attempts (the provider may have it): {message.error}"[
        :1000
    ]


async def mark_unreachable(session: AsyncSession, message: Message, reason: str, now: datetime) -> None:
    exists = (
        await session.execute(
            select(ChannelStatus).where(
                ChannelStatus.member_id == message.member_id, ChannelStatus.channel == message.channel
            )
        )
    ).scalar_one_or_none()
    if exists is None:
        session.add(
            ChannelStatus(
                member_id=message.member_id, channel=message.channel, unreachable_since=now, reason=reason[:200]
            )
        )


async def fall_through(session: AsyncSession, settings: Settings, message: Message, now: datetime) -> bool:
    """Queue the message on the next usable channel of its cascade, once."""
    if not message.cascade:
        return False
    member = await load_member(session, message.member_id)
    if message.kind == "login_code":
        who = login_recipient(settings, message.recipient, member)
    elif member is not None:
        who = await recipient_for(session, settings, member, now)
    else:
        return False
    chosen = next_channel(message.kind, tuple(message.cascade), who)
    message.cascade = []
    if chosen is None:
        return False
    channel, rest = chosen
    where: dict[str, Any] = {
        "source": message.source,
        "recipient": message.recipient,
        "member_id": message.member_id,
        "kind": message.kind,
        "channel": channel,
        "address": who.addresses[channel],
        "rest": rest,
        "when": max(now, message.next_attempt_at),
        "now": now,
    }
    if is_deferred(message.meta):  # rendered for its own channel when claimed
        row = queued_row(**where, language=message.language, meta=dict(message.meta))
    else:
        try:
            row = message_row(**where, context=dict(message.meta.get("context", {})))
        except TextRefused as exc:  # a staff text that may not run: no next channel either
            log.warning("message %s cannot fall through to %s: %s", message.id, channel, exc)
            return False
    await insert_messages(session, [row])
    log.info("message %s on %s fell through to %s", message.id, message.channel, channel)
    return True
