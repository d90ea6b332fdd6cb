"""Routing facts for a whole batch of members at once (a handful of IN queries instead of several
per member), and the member fields marketers' templates may use."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.recipients import COUNTED
from notifications.routing import Recipient
from notifications.templates.staff_texts import FIELDS
from shared.config import Settings
from shared.db.models import Consent, Member
from shared.db.models.messages import ChannelStatus, Message, PushSubscription
from shared.offers.personal import OfferView, offer_text
from shared.vocabulary import LANGUAGES

MEMBER_FIELDS = (
    Member.id,
    Member.phone,
    Member.email,
    Member.telegram_user_id,
    Member.time_zone,
    Member.language,
    Member.first_name,
    Member.card_number,
    Member.available,
    Member.pending,
    Member.tier_code,
)
TEMPLATE_FIELDS = FIELDS  # what a marketer's text may use (notifications.templates.staff_texts)


def _among(column: Any, ids: list[uuid.UUID], ordered: bool) -> Any:
    """Members of a batch: by key range when the batch is a keyset slice (a cheap statement to
    compile, an index range to read; rows of members outside the batch are simply not looked up)."""
    return column.between(ids[0], ids[-1]) if ordered else column.in_(ids)


async def recipients_of(
    session: AsyncSession,
    settings: Settings,
    members: Sequence[Row[*tuple[Any, ...]]],
    now: datetime,
    *,
    ordered: bool = False,
) -> dict[uuid.UUID, Recipient]:
    """members: rows of MEMBER_FIELDS (ordered=True: sorted by id, as a keyset batch is). The same
    facts recipients.recipient_for reads, in bulk."""
    ids = [m.id for m in members]
    if not ids:
        return {}
    consents: dict[uuid.UUID, dict[str, bool]] = defaultdict(dict)
    for member_id, channel, granted in await session.execute(
        select(Consent.member_id, Consent.channel, Consent.granted).where(_among(Consent.member_id, ids, ordered))
    ):
        consents[member_id][channel] = granted
    unreachable: dict[uuid.UUID, set[str]] = defaultdict(set)
    for member_id, channel in await session.execute(
        select(ChannelStatus.member_id, ChannelStatus.channel).where(_among(ChannelStatus.member_id, ids, ordered))
    ):
        unreachable[member_id].add(channel)
    capped: dict[uuid.UUID, set[str]] = defaultdict(set)
    # only member and time in WHERE, so the planner walks the (member, channel, created) index even
    # while a campaign is adding queued rows faster than statistics follow
    counted = func.sum(case((Message.promotional.is_(True) & Message.status.in_(COUNTED), 1), else_=0))
    for member_id, channel, _count in await session.execute(
        select(Message.member_id, Message.channel, counted)
        .where(_among(Message.member_id, ids, ordered), Message.created_at > now - timedelta(days=1))
        .group_by(Message.member_id, Message.channel)
        .having(counted >= settings.notify.promo_cap_per_day)
    ):
        capped[member_id].add(channel)
    pushes = {
        s.member_id: s.as_address()
        for s in (
            await session.execute(
                select(PushSubscription)
                .where(_among(PushSubscription.member_id, ids, ordered))
                .order_by(PushSubscription.id)
            )
        ).scalars()
    }
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
        out[m.id] = Recipient(
            addresses,
            consents.get(m.id, {}),
            frozenset(unreachable.get(m.id, ())),
            frozenset(capped.get(m.id, ())),
            zones[m.time_zone],
        )
    return out


def member_language(settings: Settings, language: str | None) -> str:
    """The language a member's messages are written in (campaigns.sql says the same in SQL)."""
    return language if language in LANGUAGES else settings.program.language


def member_fields(settings: Settings, m: Row[*tuple[Any, ...]], offer: OfferView | None = None) -> dict[str, Any]:
    """What a marketer's template sees about one member (TEMPLATE_FIELDS), plus routing basics;
    `offer` is their personal offer under the campaign's promotion (`{{ offer }}`, empty without one)."""
    rules = settings.program
    tier = rules.tier(m.tier_code)
    language = member_language(settings, m.language)
    return {
        "language": language,
        "program": rules.name,
        "card_url": f"{settings.public_url}/card",
        "unsubscribe_url": None,
        "unsubscribe_label": "Отписаться" if language == "ru" else "Unsubscribe",
        "name": m.first_name or "",
        "card": m.card_number,
        "balance": m.available,
        "pending": m.pending,
        "tier": tier.title(language),
        "percent": tier.accrual_percent,
        "offer": offer_text(offer, rules, language) if offer is not None else "",
    }
