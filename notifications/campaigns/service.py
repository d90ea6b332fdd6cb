"""Campaigns as a marketer drives them: define (segment, cascade, A/B variants, control group),
preview on a real member, estimate SMS cost, test-send to oneself, schedule or send now, cancel.
Expansion into messages lives in campaigns.expansion, figures in campaigns.results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns.audience import MEMBER_FIELDS, member_fields
from notifications.campaigns.texts import SAMPLE, check_variants, refused_texts, render_for, sample_member, texts_for
from notifications.planner import insert_messages, message_row
from notifications.templates import TextRefused, render_custom
from shared.config import Settings
from shared.db.models import Consent, Member, Segment, SegmentMember
from shared.db.models.campaigns import CANCELLED, DONE, DRAFT, SCHEDULED, Campaign, CampaignVariant
from shared.db.models.promotions import Promotion
from shared.errors import Conflict, FieldError, FieldErrors, InvalidInput, NotFound
from shared.inputs import CONTROL_MESSAGE, has_control
from shared.offers.personal import OfferView, offers_under
from shared.promotions.terms import PERSONAL
from shared.vocabulary import CHANNELS_CHEAPEST_FIRST as CAMPAIGN_CHANNELS


@dataclass(frozen=True)
class CampaignView:
    id: int
    name: str
    segment_id: int
    channels: list[str]
    control_percent: int
    attribution_days: int
    status: str
    scheduled_at: datetime | None
    variants: dict[str, int]  # code -> weight
    promotion_id: int | None = None  # a personal promotion whose offers the sending issues


async def create_campaign(
    session: AsyncSession,
    *,
    name: str,
    segment_id: int,
    channels: list[str],
    variants: list[dict[str, Any]],
    now: datetime,
    control_percent: int = 0,
    attribution_days: int = 7,
    promotion_id: int | None = None,
) -> CampaignView:
    """variants: [{"code": "A", "weight": 1, "templates": {channel: {"ru": {"text", "subject"}, "en": ...}}}]"""
    errors = FieldErrors()
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        errors.add("name", "must be 1 to 200 characters")
    elif has_control(name):
        errors.add("name", CONTROL_MESSAGE)
    if await session.get(Segment, segment_id) is None:
        errors.add("segment_id", "no such segment")
    if (
        not isinstance(channels, list)
        or not channels
        or len(set(channels)) != len(channels)
        or any(ch not in CAMPAIGN_CHANNELS for ch in channels)
    ):
        errors.add("channels", f"give an order of distinct channels from {', '.join(CAMPAIGN_CHANNELS)}")
        channels = []
    if type(control_percent) is not int or not 0 <= control_percent <= 50:
        errors.add("control_percent", "must be from 0 to 50")
    if type(attribution_days) is not int or not 1 <= attribution_days <= 90:
        errors.add("attribution_days", "must be from 1 to 90 days")
    check_variants(errors, channels, variants)
    if promotion_id is not None:
        promotion = await session.get(Promotion, promotion_id)
        if promotion is None or promotion.kind != PERSONAL or not promotion.active:
            errors.add("promotion_id", "must be an active personal promotion")
    errors.raise_if_any("The campaign has invalid fields.")
    campaign = Campaign(
        name=name.strip(),
        segment_id=segment_id,
        channels=channels,
        control_percent=control_percent,
        attribution_days=attribution_days,
        promotion_id=promotion_id,
        status=DRAFT,
        audience_count=0,
        expanded_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    await session.flush()
    for variant in variants:
        session.add(
            CampaignVariant(
                campaign_id=campaign.id,
                code=variant["code"],
                weight=variant.get("weight", 1),
                templates={ch: variant["templates"][ch] for ch in channels},
            )
        )
    await session.flush()
    return await get_campaign(session, campaign.id)


async def load_campaign(session: AsyncSession, campaign_id: int, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    campaign = (await session.execute(stmt)).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist.")
    return campaign


async def variants_of(session: AsyncSession, campaign_id: int) -> list[CampaignVariant]:
    return list(
        (
            await session.execute(
                select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id).order_by(CampaignVariant.id)
            )
        ).scalars()
    )


async def campaign_offers(
    session: AsyncSession, campaign_id: int, member_ids: list[uuid.UUID]
) -> dict[uuid.UUID, OfferView]:
    """What `{{ offer }}` shows these members in this campaign's texts (nothing without a promotion)."""
    promotion_id = (await session.execute(select(Campaign.promotion_id).where(Campaign.id == campaign_id))).scalar()
    return {} if promotion_id is None else await offers_under(session, promotion_id, member_ids)


async def get_campaign(session: AsyncSession, campaign_id: int) -> CampaignView:
    c = await load_campaign(session, campaign_id)
    variants = {v.code: v.weight for v in await variants_of(session, campaign_id)}
    return CampaignView(
        c.id,
        c.name,
        c.segment_id,
        list(c.channels),
        c.control_percent,
        c.attribution_days,
        c.status,
        c.scheduled_at,
        variants,
        c.promotion_id,
    )


async def list_campaigns(session: AsyncSession, limit: int = 100) -> list[CampaignView]:
    """Newest first, for the console's list."""
    ids = (await session.execute(select(Campaign.id).order_by(Campaign.id.desc()).limit(limit))).scalars()
    return [await get_campaign(session, campaign_id) for campaign_id in list(ids)]


async def schedule_campaign(session: AsyncSession, campaign_id: int, at: datetime, now: datetime) -> CampaignView:
    """Send at `at` (now or later); the worker's scheduler picks it up. Rescheduling is allowed until it starts."""
    campaign = await load_campaign(session, campaign_id, lock=True)
    if campaign.status not in (DRAFT, SCHEDULED):
        raise Conflict(f"The campaign is {campaign.status} and cannot be scheduled again.")
    for variant in await variants_of(session, campaign_id):
        if bad := refused_texts(variant.templates):
            raise InvalidInput(
                f"Variant {variant.code} has texts that may not be sent ({', '.join(bad)}); "
                "create the campaign again with corrected texts.",
                [],
            )
    if at.tzinfo is None:
        raise InvalidInput("The time needs a time zone.", [])
    campaign.status, campaign.scheduled_at, campaign.updated_at = SCHEDULED, max(at, now), now
    return await get_campaign(session, campaign_id)


async def cancel_campaign(session: AsyncSession, campaign_id: int, now: datetime) -> CampaignView:
    """Stop expanding; messages already queued still go (they are ordinary queued messages)."""
    campaign = await load_campaign(session, campaign_id, lock=True)
    if campaign.status == DONE:
        raise Conflict("The campaign has finished already.")
    campaign.status, campaign.updated_at = CANCELLED, now
    return await get_campaign(session, campaign_id)


async def _campaign_arm(
    session: AsyncSession, campaign_id: int, channel: str, variant: str | None
) -> tuple[dict[str, CampaignVariant], str]:
    """The campaign's arms and the arm asked for (default: the first), checking the channel is one of its own."""
    campaign = await load_campaign(session, campaign_id)
    if channel not in campaign.channels:
        raise InvalidInput("The campaign does not use this channel.", [])
    arms = {v.code: v for v in await variants_of(session, campaign_id)}
    code = variant or next(iter(arms))
    if code not in arms:
        raise NotFound(f"Variant {code} does not exist.")
    return arms, code


async def preview(
    session: AsyncSession,
    settings: Settings,
    campaign_id: int,
    member_id: uuid.UUID | None,
    channel: str,
    variant: str | None = None,
    *,
    language: str = "ru",
) -> dict[str, Any]:
    """The message as this member (None: the sample member, in `language`) would get it, with SMS
    parts and cost. A stored text that may not run is an InvalidInput, never run."""
    arms, code = await _campaign_arm(session, campaign_id, channel, variant)
    try:
        if member_id is None:
            context = sample_member(settings, language)
            texts = texts_for(arms[code].templates, context["language"], [channel])[channel]
            rendered = render_custom(channel, texts, context)
        else:
            row = (await session.execute(select(*MEMBER_FIELDS).where(Member.id == member_id))).one_or_none()
            if row is None:
                raise NotFound(f"Member {member_id} does not exist.")
            offer = await campaign_offers(session, campaign_id, [member_id])
            _, rendered = render_for(settings, row, arms[code].templates, channel, offer.get(member_id))
    except TextRefused as exc:
        raise InvalidInput("This text may not be sent.", [FieldError("text", exc.refusal.text("en"))]) from None
    cost = rendered.parts * settings.sms.part_cost_minor if channel == "sms" else 0
    return {
        "variant": code,
        "channel": channel,
        "text": rendered.text,
        "subject": rendered.subject,
        "html": rendered.html,
        "sms_parts": rendered.parts,
        "cost_minor": cost,
    }


async def estimate(session: AsyncSession, settings: Settings, campaign_id: int) -> dict[str, Any]:
    """Before sending: the audience, and at most how many SMS (members with SMS consent) at the
    longest variant's part count on a sample member of the audience."""
    campaign = await load_campaign(session, campaign_id)
    in_segment = SegmentMember.segment_id == campaign.segment_id
    audience = (await session.execute(select(func.count()).select_from(SegmentMember).where(in_segment))).scalar_one()
    result = {
        "audience": int(audience),
        "control_percent": campaign.control_percent,
        "sms_recipients_max": 0,
        "sms_parts": 0,
        "cost_minor_max": 0,
    }
    sample = (await session.execute(select(SegmentMember.member_id).where(in_segment).limit(1))).scalar_one_or_none()
    if "sms" not in campaign.channels or sample is None:
        return result
    sms_members = (
        await session.execute(
            select(func.count())
            .select_from(SegmentMember)
            .join(
                Consent,
                (Consent.member_id == SegmentMember.member_id) & (Consent.channel == "sms") & Consent.granted.is_(True),
            )
            .where(in_segment)
        )
    ).scalar_one()
    try:
        parts = max(
            [
                (await preview(session, settings, campaign_id, sample, "sms", v.code))["sms_parts"]
                for v in await variants_of(session, campaign_id)
            ]
        )
    except InvalidInput:  # a stored text that may not run: nothing will be sent, nothing to estimate
        parts = 0
    reached = round(int(sms_members) * (100 - campaign.control_percent) / 100)
    result |= {
        "sms_recipients_max": reached,
        "sms_parts": parts,
        "cost_minor_max": reached * parts * settings.sms.part_cost_minor,
    }
    return result


async def send_test(
    session: AsyncSession,
    settings: Settings,
    campaign_id: int,
    channel: str,
    address: str,
    now: datetime,
    *,
    member_id: uuid.UUID | None = None,
    variant: str | None = None,
) -> str:
    """Queue the campaign's message to the marketer's own phone/e-mail/chat, now, marked as a test:
    filled in with a real member's fields when given, never counted in the results."""
    address = (address or "").strip()
    if not address or len(address) > 254:
        raise InvalidInput("Where should the test go?", [])
    arms, code = await _campaign_arm(session, campaign_id, channel, variant)
    if member_id is not None:
        row = (await session.execute(select(*MEMBER_FIELDS).where(Member.id == member_id))).one_or_none()
        if row is None:
            raise NotFound(f"Member {member_id} does not exist.")
        context = member_fields(
            settings, row, (await campaign_offers(session, campaign_id, [member_id])).get(member_id)
        )
    else:
        context = {**SAMPLE, "program": settings.program.name}
    context["templates"] = texts_for(arms[code].templates, context["language"], [channel])
    source = f"campaign-test:{campaign_id}:{uuid.uuid4().hex[:16]}"
    try:
        row_ = message_row(
            source=source,
            recipient=address[:64],
            member_id=None,
            kind="campaign",
            channel=channel,
            address=address,
            rest=(),
            when=now,
            now=now,
            context=context,
        )
    except TextRefused as exc:
        raise InvalidInput("This text may not be sent.", [FieldError("text", exc.refusal.text("en"))]) from None
    row_["promotional"] = False
    row_["meta"] = {"context": context, "test": True, "campaign_id": campaign_id}
    await insert_messages(session, [row_])
    return source
