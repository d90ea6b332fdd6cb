"""Campaigns as a marketer drives them: define (segment, cascade, A/B variants, control group),
preview on a real member, estimate SMS cost, test-send to oneself, schedule or send now, cancel.
Expansion into messages lives in campaign_expansion, figures in campaign_results."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.audience import LANGUAGES, MEMBER_FIELDS, member_fields
from notifications.campaign_models import CANCELLED, CONTROL, DONE, DRAFT, SCHEDULED, SENDING, Campaign, CampaignVariant
from notifications.planner import insert_messages, message_row
from notifications.templates import Rendered, TextRefused, refusal_of, render_custom
from shared.config import Settings
from shared.db.models import Consent, Member, Segment, SegmentMember
from shared.errors import Conflict, FieldError, FieldErrors, InvalidInput, NotFound
from shared.inputs import CONTROL_MESSAGE, has_control

CAMPAIGN_CHANNELS = ("telegram", "push", "viber", "sms", "email")
SAMPLE = {"language": "ru", "program": "Program", "card_url": "https://example.org/card", "unsubscribe_url": None,
          "unsubscribe_label": "", "name": "Anna", "card": "2000000000001", "balance": 1234, "pending": 0,
          "tier": "Gold", "percent": 10}


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


def source_of(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def assign_variant(campaign_id: int, member_id: uuid.UUID, control_percent: int,
                   variants: list[tuple[str, int]]) -> str:
    """Deterministic: the same member lands in the same arm however often expansion restarts. The
    first 32 bits of md5("campaign:member") decide the control group, the next 32 the arm; the
    PostgreSQL path (campaign_sql) computes the same in SQL."""
    digest = hashlib.md5(f"{campaign_id}:{member_id}".encode(), usedforsecurity=False).hexdigest()
    if int(digest[:8], 16) % 100 < control_percent:
        return CONTROL
    point = int(digest[8:16], 16) % sum(weight for _, weight in variants)
    for code, weight in variants:
        if point < weight:
            return code
        point -= weight
    raise AssertionError("weights exhausted")


def render_for(settings: Settings, row: Any, templates: dict[str, Any], channel: str) -> tuple[str, Rendered]:
    """One variant's text for one member (a row of MEMBER_FIELDS) on one channel, in their language."""
    context = member_fields(settings, row)
    return context["language"], render_custom(
        channel, texts_for(templates, context["language"], [channel])[channel], context)


def texts_for(templates: dict[str, Any], language: str, channels: list[str]) -> dict[str, dict[str, str]]:
    """The texts of each channel in the member's language (Russian when there is no translation)."""
    return {ch: templates[ch].get(language) or templates[ch]["ru"] for ch in channels}


def _check_variants(errors: FieldErrors, channels: list[str], variants: Any) -> list[dict[str, Any]]:
    if not isinstance(variants, list) or not 1 <= len(variants) <= 5:
        errors.add("variants", "give 1 to 5 variants")
        return []
    codes: set[str] = set()
    for i, variant in enumerate(variants):
        at = f"variants[{i}]"
        code, weight, templates = variant.get("code"), variant.get("weight", 1), variant.get("templates")
        if not isinstance(code, str) or not code.strip() or len(code) > 16 or code == CONTROL or code in codes:
            errors.add(f"{at}.code", "must be a unique short name (not 'control')")
        codes.add(str(code))
        if type(weight) is not int or not 1 <= weight <= 100:
            errors.add(f"{at}.weight", "must be from 1 to 100")
        if not isinstance(templates, dict):
            errors.add(f"{at}.templates", "must give the texts per channel")
            continue
        for channel in channels:
            for language in LANGUAGES:
                texts = (templates.get(channel) or {}).get(language)
                field = f"{at}.templates.{channel}.{language}"
                if texts is None and language != "ru":
                    continue  # members reading English get the Russian text
                if not isinstance(texts, dict) or not str(texts.get("text", "")).strip():
                    errors.add(field, "needs a text")
                    continue
                if channel == "email" and not str(texts.get("subject", "")).strip():
                    errors.add(field, "an e-mail needs a subject")
                _check_texts(errors, field, channel, texts, language)
    return variants


def _check_texts(errors: FieldErrors, field: str, channel: str, texts: dict[str, Any], language: str) -> None:
    """Each text staff typed: allowed fields, filters and tags only (templates.staff_texts), then
    filled in on the sample member, so a text that would fail at sending fails here."""
    refused = False
    for key, at in (("text", field), ("subject", f"{field}.subject")):
        source = texts.get(key)
        refusal = refusal_of(source) if isinstance(source, str) else None
        if refusal is not None:
            errors.add(at, refusal.text("en"))
            refused = True
    if refused:
        return
    try:
        render_custom(channel, texts, {**SAMPLE, "language": language})
    except TextRefused as exc:
        errors.add(field, exc.refusal.text("en"))


def refused_texts(templates: Any) -> list[str]:
    """Channel.language of each stored text that may not run (checked again before sending)."""
    if not isinstance(templates, dict):
        return ["templates"]
    bad = []
    for channel, languages in templates.items():
        for language, texts in (languages.items() if isinstance(languages, dict) else [("*", None)]):
            if not isinstance(texts, dict) or not isinstance(texts.get("text"), str) or any(
                    texts.get(key) is not None and (not isinstance(texts[key], str) or refusal_of(texts[key]))
                    for key in ("text", "subject")):
                bad.append(f"{channel}.{language}")
    return bad


async def create_campaign(session: AsyncSession, *, name: str, segment_id: int, channels: list[str],
                          variants: list[dict[str, Any]], now: datetime, control_percent: int = 0,
                          attribution_days: int = 7) -> CampaignView:
    """variants: [{"code": "A", "weight": 1, "templates": {channel: {"ru": {"text", "subject"}, "en": ...}}}]"""
    errors = FieldErrors()
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        errors.add("name", "must be 1 to 200 characters")
    elif has_control(name):
        errors.add("name", CONTROL_MESSAGE)
    if await session.get(Segment, segment_id) is None:
        errors.add("segment_id", "no such segment")
    if not isinstance(channels, list) or not channels or len(set(channels)) != len(channels) \
            or any(ch not in CAMPAIGN_CHANNELS for ch in channels):
        errors.add("channels", f"give an order of distinct channels from {', '.join(CAMPAIGN_CHANNELS)}")
        channels = []
    if type(control_percent) is not int or not 0 <= control_percent <= 50:
        errors.add("control_percent", "must be from 0 to 50")
    if type(attribution_days) is not int or not 1 <= attribution_days <= 90:
        errors.add("attribution_days", "must be from 1 to 90 days")
    _check_variants(errors, channels, variants)
    errors.raise_if_any("The campaign has invalid fields.")
    campaign = Campaign(name=name.strip(), segment_id=segment_id, channels=channels, control_percent=control_percent,
                        attribution_days=attribution_days, status=DRAFT, audience_count=0, expanded_count=0,
                        created_at=now, updated_at=now)
    session.add(campaign)
    await session.flush()
    for variant in variants:
        session.add(CampaignVariant(campaign_id=campaign.id, code=variant["code"], weight=variant.get("weight", 1),
                                    templates={ch: variant["templates"][ch] for ch in channels}))
    await session.flush()
    return await get_campaign(session, campaign.id)


async def _campaign(session: AsyncSession, campaign_id: int, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if lock and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    campaign = (await session.execute(stmt)).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist.")
    return campaign


async def variants_of(session: AsyncSession, campaign_id: int) -> list[CampaignVariant]:
    return list((await session.execute(select(CampaignVariant).where(
        CampaignVariant.campaign_id == campaign_id).order_by(CampaignVariant.id))).scalars())


async def get_campaign(session: AsyncSession, campaign_id: int) -> CampaignView:
    c = await _campaign(session, campaign_id)
    variants = {v.code: v.weight for v in await variants_of(session, campaign_id)}
    return CampaignView(c.id, c.name, c.segment_id, list(c.channels), c.control_percent, c.attribution_days,
                        c.status, c.scheduled_at, variants)


async def list_campaigns(session: AsyncSession, limit: int = 100) -> list[CampaignView]:
    """Newest first, for the console's list."""
    ids = (await session.execute(select(Campaign.id).order_by(Campaign.id.desc()).limit(limit))).scalars()
    return [await get_campaign(session, campaign_id) for campaign_id in list(ids)]


async def schedule_campaign(session: AsyncSession, campaign_id: int, at: datetime, now: datetime) -> CampaignView:
    """Send at `at` (now or later); the worker's scheduler picks it up. Rescheduling is allowed until it starts."""
    campaign = await _campaign(session, campaign_id, lock=True)
    if campaign.status not in (DRAFT, SCHEDULED):
        raise Conflict(f"The campaign is {campaign.status} and cannot be scheduled again.")
    for variant in await variants_of(session, campaign_id):
        if bad := refused_texts(variant.templates):
            raise InvalidInput(f"Variant {variant.code} has texts that may not be sent ({', '.join(bad)}); "
                               "create the campaign again with corrected texts.", [])
    if at.tzinfo is None:
        raise InvalidInput("The time needs a time zone.", [])
    campaign.status, campaign.scheduled_at, campaign.updated_at = SCHEDULED, max(at, now), now
    return await get_campaign(session, campaign_id)


async def cancel_campaign(session: AsyncSession, campaign_id: int, now: datetime) -> CampaignView:
    """Stop expanding; messages already queued still go (they are ordinary queued messages)."""
    campaign = await _campaign(session, campaign_id, lock=True)
    if campaign.status == DONE:
        raise Conflict("The campaign has finished already.")
    campaign.status, campaign.updated_at = CANCELLED, now
    return await get_campaign(session, campaign_id)


def sample_member(settings: Settings, language: str = "ru") -> dict[str, Any]:
    """A made-up member to preview texts on (nobody's data)."""
    return {**SAMPLE, "program": settings.program.name, "card_url": f"{settings.public_url}/card",
            "language": language if language in LANGUAGES else "ru"}


async def preview(session: AsyncSession, settings: Settings, campaign_id: int, member_id: uuid.UUID | None,
                  channel: str, variant: str | None = None, *, language: str = "ru") -> dict[str, Any]:
    """The message as this member (None: the sample member, in `language`) would get it, with SMS
    parts and cost. A stored text that may not run is an InvalidInput, never run."""
    campaign = await _campaign(session, campaign_id)
    if channel not in campaign.channels:
        raise InvalidInput("The campaign does not use this channel.", [])
    arms = {v.code: v for v in await variants_of(session, campaign_id)}
    code = variant or next(iter(arms))
    if code not in arms:
        raise NotFound(f"Variant {code} does not exist.")
    try:
        if member_id is None:
            context = sample_member(settings, language)
            texts = texts_for(arms[code].templates, context["language"], [channel])[channel]
            rendered = render_custom(channel, texts, context)
        else:
            row = (await session.execute(select(*MEMBER_FIELDS).where(Member.id == member_id))).one_or_none()
            if row is None:
                raise NotFound(f"Member {member_id} does not exist.")
            _, rendered = render_for(settings, row, arms[code].templates, channel)
    except TextRefused as exc:
        raise InvalidInput("This text may not be sent.", [FieldError("text", exc.refusal.text("en"))]) from None
    cost = rendered.parts * settings.sms.part_cost_minor if channel == "sms" else 0
    return {"variant": code, "channel": channel, "text": rendered.text, "subject": rendered.subject,
            "html": rendered.html, "sms_parts": rendered.parts, "cost_minor": cost}


async def estimate(session: AsyncSession, settings: Settings, campaign_id: int) -> dict[str, Any]:
    """Before sending: the audience, and at most how many SMS (members with SMS consent) at the
    longest variant's part count on a sample member of the audience."""
    campaign = await _campaign(session, campaign_id)
    in_segment = SegmentMember.segment_id == campaign.segment_id
    audience = (await session.execute(select(func.count()).select_from(SegmentMember).where(in_segment))).scalar_one()
    result = {"audience": int(audience), "control_percent": campaign.control_percent, "sms_recipients_max": 0,
              "sms_parts": 0, "cost_minor_max": 0}
    sample = (await session.execute(select(SegmentMember.member_id).where(in_segment).limit(1))).scalar_one_or_none()
    if "sms" not in campaign.channels or sample is None:
        return result
    sms_members = (await session.execute(select(func.count()).select_from(SegmentMember).join(
        Consent, (Consent.member_id == SegmentMember.member_id) & (Consent.channel == "sms")
        & Consent.granted.is_(True)).where(in_segment))).scalar_one()
    try:
        parts = max([(await preview(session, settings, campaign_id, sample, "sms", v.code))["sms_parts"]
                     for v in await variants_of(session, campaign_id)])
    except InvalidInput:  # a stored text that may not run: nothing will be sent, nothing to estimate
        parts = 0
    reached = round(int(sms_members) * (100 - campaign.control_percent) / 100)
    result |= {"sms_recipients_max": reached, "sms_parts": parts,
               "cost_minor_max": reached * parts * settings.sms.part_cost_minor}
    return result


async def send_test(session: AsyncSession, settings: Settings, campaign_id: int, channel: str, address: str,
                    now: datetime, *, member_id: uuid.UUID | None = None, variant: str | None = None) -> str:
    """Queue the campaign's message to the marketer's own phone/e-mail/chat, now, marked as a test:
    filled in with a real member's fields when given, never counted in the results."""
    address = (address or "").strip()
    if not address or len(address) > 254:
        raise InvalidInput("Where should the test go?", [])
    campaign = await _campaign(session, campaign_id)
    if channel not in campaign.channels:
        raise InvalidInput("The campaign does not use this channel.", [])
    arms = {v.code: v for v in await variants_of(session, campaign_id)}
    code = variant or next(iter(arms))
    if code not in arms:
        raise NotFound(f"Variant {code} does not exist.")
    if member_id is not None:
        row = (await session.execute(select(*MEMBER_FIELDS).where(Member.id == member_id))).one_or_none()
        if row is None:
            raise NotFound(f"Member {member_id} does not exist.")
        context = member_fields(settings, row)
    else:
        context = {**SAMPLE, "program": settings.program.name}
    context["templates"] = texts_for(arms[code].templates, context["language"], [channel])
    source = f"campaign-test:{campaign_id}:{uuid.uuid4().hex[:16]}"
    try:
        row_ = message_row(source=source, recipient=address[:64], member_id=None, kind="campaign", channel=channel,
                           address=address, rest=(), when=now, now=now, context=context)
    except TextRefused as exc:
        raise InvalidInput("This text may not be sent.", [FieldError("text", exc.refusal.text("en"))]) from None
    row_["promotional"] = False
    row_["meta"] = {"context": context, "test": True, "campaign_id": campaign_id}
    await insert_messages(session, [row_])
    return source


__all__ = ["CONTROL", "SENDING", "CampaignView", "assign_variant", "cancel_campaign", "create_campaign", "estimate",
           "get_campaign", "list_campaigns", "preview", "refused_texts", "sample_member", "schedule_campaign",
           "send_test", "source_of", "texts_for", "variants_of"]
