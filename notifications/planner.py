"""Outbox event -> message rows: who, which channels, when, and the rendered text."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.bulk_insert import insert_ignoring_conflicts
from notifications.recipients import load_member, login_recipient, message_context, recipient_for
from notifications.routing import POLICIES, Plan, plan_messages
from notifications.templates import render_message
from shared.config import Settings
from shared.db.models import Member, OutboxEvent
from shared.db.models.messages import QUEUED, Message
from shared.phones import mask_phone
from shared.stores import store_zone

log = logging.getLogger("loyalty.notifier")


def queued_row(
    *,
    source: str,
    recipient: str,
    member_id: Any,
    kind: str,
    channel: str,
    address: str,
    rest: tuple[str, ...] | list[str],
    when: datetime,
    now: datetime,
    language: str,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """A queued message row with no text yet: campaign messages are rendered when a worker claims
    them (notifications.campaigns.deferred); message_row fills the text in for everything else."""
    return {
        "source": source,
        "recipient": recipient,
        "member_id": member_id,
        "channel": channel,
        "kind": kind,
        "promotional": POLICIES[kind].promotional,
        "address": address,
        "language": language,
        "subject": None,
        "text": "",
        "html": None,
        "meta": meta,
        "cascade": list(rest),
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": when,
        "lease_until": None,
        "fallback_at": None,
        "provider_id": None,
        "error": None,
        "cost_parts": 0,
        "created_at": now,
        "sent_at": None,
        "delivered_at": None,
    }


def message_row(
    *,
    source: str,
    recipient: str,
    member_id: Any,
    kind: str,
    channel: str,
    address: str,
    rest: tuple[str, ...] | list[str],
    when: datetime,
    now: datetime,
    context: dict[str, Any],
) -> dict[str, Any]:
    language = context.get("language", "ru")
    rendered = render_message(kind, channel, language, context)
    row = queued_row(
        source=source,
        recipient=recipient,
        member_id=member_id,
        kind=kind,
        channel=channel,
        address=address,
        rest=rest,
        when=when,
        now=now,
        language=language,
        meta={"context": context},
    )
    row.update(subject=rendered.subject, text=rendered.text, html=rendered.html, cost_parts=rendered.parts)
    return row


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert, keeping any row that already exists under the same (source, recipient, channel)."""
    await insert_ignoring_conflicts(session, Message.__table__, rows, ("source", "recipient", "channel"))


async def plan_event(
    session: AsyncSession, settings: Settings, event: OutboxEvent, now: datetime
) -> list[dict[str, Any]]:
    if event.kind not in POLICIES:
        return []
    rules = settings.program
    if event.kind == "login_code":
        phone = str(event.payload.get("phone", ""))
        if not phone:
            return []
        member = (
            await load_member(session, event.member_id)
            or (await session.execute(select(Member).where(Member.phone == phone))).scalar_one_or_none()
        )
        who, recipient = login_recipient(settings, phone, member), phone
    else:
        member = await load_member(session, event.member_id)
        if member is None:
            return []
        who, recipient = await recipient_for(session, settings, member, now), str(member.id)
        # a message a receipt triggered keeps the hours of the store the member just was in
        if (zone := await store_zone(session, event.payload.get("store_id"))) is not None:
            who = replace(who, zone=zone)
    plans: list[Plan] = plan_messages(event.kind, who, now, settings.notify)
    if not plans:
        log.info(
            "event %s (%s) reaches no channel of %s", event.id, event.kind, mask_phone(member.phone) if member else "-"
        )
        return []
    context = message_context(settings, rules, event, member, who.zone, now)
    return [
        message_row(
            source=f"event:{event.id}",
            recipient=recipient,
            member_id=member.id if member else None,
            kind=event.kind,
            channel=plan.channel,
            address=plan.address,
            rest=plan.rest,
            when=plan.not_before,
            now=now,
            context=context,
        )
        for plan in plans
    ]
