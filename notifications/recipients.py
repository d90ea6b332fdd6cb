"""Loading who a message goes to and what it says about them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.push_subscriptions import subscriptions_of
from notifications.routing import Recipient
from shared.config import Settings
from shared.db.models import Consent, Member, OutboxEvent
from shared.db.models.messages import DELIVERED, QUEUED, SENDING, SENT, ChannelStatus, Message
from shared.program import ProgramRules

COUNTED = (QUEUED, SENDING, SENT, DELIVERED)


async def recipient_for(session: AsyncSession, settings: Settings, member: Member, now: datetime) -> Recipient:
    consents = {
        c.channel: c.granted
        for c in (await session.execute(select(Consent).where(Consent.member_id == member.id))).scalars()
    }
    unreachable = frozenset(
        (await session.execute(select(ChannelStatus.channel).where(ChannelStatus.member_id == member.id))).scalars()
    )
    capped_rows = (
        await session.execute(
            select(Message.channel, func.count())
            .where(
                Message.member_id == member.id,
                Message.promotional.is_(True),
                Message.status.in_(COUNTED),
                Message.created_at > now - timedelta(days=1),
            )
            .group_by(Message.channel)
        )
    ).all()
    capped = frozenset(channel for channel, count in capped_rows if count >= settings.notify.promo_cap_per_day)
    addresses = {"sms": member.phone, "viber": member.phone}
    if member.email:
        addresses["email"] = member.email
    if member.telegram_user_id:
        addresses["telegram"] = str(member.telegram_user_id)
    subscriptions = await subscriptions_of(session, member.id)
    if subscriptions:  # the newest browser the member opted in from
        addresses["push"] = subscriptions[-1].as_address()
    zone = ZoneInfo(member.time_zone) if member.time_zone else settings.program.zone
    return Recipient(addresses, consents, unreachable, capped, zone)


def login_recipient(settings: Settings, phone: str, member: Member | None) -> Recipient:
    """A login code goes to the phone that asked (and to Telegram if that member linked it)."""
    addresses = {"sms": phone}
    if member is not None and member.telegram_user_id:
        addresses["telegram"] = str(member.telegram_user_id)
    return Recipient(addresses, {}, frozenset(), frozenset(), settings.program.zone)


def local_day(moment: str | datetime | None, zone: ZoneInfo, language: str) -> str | None:
    """A day as message texts write it, in the recipient's zone: "08.12" in Russian, "08 Dec" in English."""
    if not moment:
        return None
    local = (datetime.fromisoformat(moment) if isinstance(moment, str) else moment).astimezone(zone)
    return local.strftime("%d.%m") if language == "ru" else local.strftime("%d %b")


def message_context(
    settings: Settings, rules: ProgramRules, event: OutboxEvent, member: Member | None, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    language = member.language if member else event.payload.get("language", rules.language)
    payload = event.payload
    context: dict[str, Any] = {
        "language": language,
        "program": rules.name,
        "card_url": f"{settings.public_url}/card",
        "unsubscribe_url": None,
        "unsubscribe_label": "Отписаться" if language == "ru" else "Unsubscribe",
        "code": payload.get("code"),
        "points": payload.get("points"),
        "days": payload.get("days"),
        "link": payload.get("link"),
    }
    if member is not None:
        tier = rules.tier(member.tier_code)
        context |= {
            "name": member.first_name,
            "card": member.card_number,
            "balance": member.available,
            "pending": member.pending,
            "tier": tier.title(language),
            "percent": tier.accrual_percent,
        }
    available_at = payload.get("available_at")
    context["available_on"] = (
        local_day(available_at, zone, language) if available_at and datetime.fromisoformat(available_at) > now else None
    )
    context["expires_on"] = local_day(payload.get("expires_at"), zone, language)
    context["birthday_on"] = None
    if event.kind == "tier_changed":
        tier = rules.tier(payload.get("to", ""))
        context |= {"tier": tier.title(language), "percent": tier.accrual_percent}
    if event.kind == "birthday":
        context["percent"] = payload.get("accrual_percent")
        context["birthday_on"] = local_day(str(payload.get("birthday")) + "T12:00:00+00:00", zone, language)
    if event.kind == "purchase_refunded":
        context |= {"reversed": payload.get("points_reversed", 0), "restored": payload.get("points_restored", 0)}
    return context


async def load_member(session: AsyncSession, member_id: uuid.UUID | None) -> Member | None:
    return await session.get(Member, member_id) if member_id else None
