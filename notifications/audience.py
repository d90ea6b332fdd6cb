"""Routing facts for a whole batch of members at once (a handful of IN queries instead of several
per member), and the member fields marketers' templates may use."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import ChannelStatus, Message
from notifications.push_subscriptions import PushSubscription
from notifications.recipients import COUNTED
from notifications.routing import Recipient
from shared.config import Settings
from shared.db.models import Consent, Member

MEMBER_FIELDS = (Member.id, Member.phone, Member.email, Member.telegram_user_id, Member.time_zone, Member.language,
                 Member.first_name, Member.card_number, Member.available, Member.pending, Member.tier_code)
TEMPLATE_FIELDS = ("name", "card", "balance", "pending", "tier", "percent", "program", "card_url")


async def recipients_of(session: AsyncSession, settings: Settings, members: list[Row[Any]], now: datetime
                        ) -> dict[uuid.UUID, Recipient]:
    """members: rows of MEMBER_FIELDS. The same facts recipients.recipient_for reads, in bulk."""
    ids = [m.id for m in members]
    if not ids:
        return {}
    consents: dict[uuid.UUID, dict[str, bool]] = defaultdict(dict)
    for member_id, channel, granted in await session.execute(
            select(Consent.member_id, Consent.channel, Consent.granted).where(Consent.member_id.in_(ids))):
        consents[member_id][channel] = granted
    unreachable: dict[uuid.UUID, set[str]] = defaultdict(set)
    for member_id, channel in await session.execute(
            select(ChannelStatus.member_id, ChannelStatus.channel).where(ChannelStatus.member_id.in_(ids))):
        unreachable[member_id].add(channel)
    capped: dict[uuid.UUID, set[str]] = defaultdict(set)
    for member_id, channel, _count in await session.execute(
            select(Message.member_id, Message.channel, func.count()).where(
                Message.member_id.in_(ids), Message.promotional.is_(True), Message.status.in_(COUNTED),
                Message.created_at > now - timedelta(days=1)).group_by(Message.member_id, Message.channel)
            .having(func.count() >= settings.notify.promo_cap_per_day)):
        capped[member_id].add(channel)
    pushes = {s.member_id: s.as_address() for s in (await session.execute(
        select(PushSubscription).where(PushSubscription.member_id.in_(ids)).order_by(PushSubscription.id))).scalars()}
    zones: dict[str | None, ZoneInfo] = {None: settings.program.zone}
    out = {}
    for m in members:
        addresses = {"sms": m.phone, "viber": m.phone}
        if m.email:
            addresses["email"] = m.email
        if m.telegram_user_id:
            addresses["telegram"] = str(m.telegram_user_id)
        if m.id in pushes:
            addresses["push"] = pushes[m.id]
        if m.time_zone not in zones:
            zones[m.time_zone] = ZoneInfo(m.time_zone)
        out[m.id] = Recipient(addresses, consents.get(m.id, {}), frozenset(unreachable.get(m.id, ())),
                              frozenset(capped.get(m.id, ())), zones[m.time_zone])
    return out


def member_fields(settings: Settings, m: Row[Any]) -> dict[str, Any]:
    """What a marketer's template sees about one member (TEMPLATE_FIELDS), plus routing basics."""
    rules = settings.program
    tier = rules.tier(m.tier_code)
    language = m.language if m.language in ("ru", "en") else rules.language
    return {"language": language, "program": rules.name, "card_url": f"{settings.public_url}/card",
            "unsubscribe_url": None, "unsubscribe_label": "Отписаться" if language == "ru" else "Unsubscribe",
            "name": m.first_name or "", "card": m.card_number, "balance": m.available, "pending": m.pending,
            "tier": tier.title(language), "percent": tier.accrual_percent}
