"""Campaign expansion: the audience, in keyset batches over member id, becomes message rows (one per
campaign, member and channel, under the messages' unique key) and assignment rows (variant or
control group). Each batch commits with the cursor that follows it, so a killed or restarted
expansion resumes where it stopped and never duplicates a message."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.audience import MEMBER_FIELDS, member_fields, recipients_of
from notifications.bulk_insert import insert_ignoring_conflicts
from notifications.campaign_models import CONTROL, DONE, SCHEDULED, SENDING, Campaign, CampaignMember
from notifications.campaigns import _campaign, assign_variant, source_of, texts_for, variants_of
from notifications.planner import insert_messages, message_row
from notifications.routing import next_channel, send_time
from shared.core import Core
from shared.db.models import Member, Segment, SegmentMember
from shared.segments import refresh_segment

log = logging.getLogger("loyalty.campaigns")
BATCH = 5000  # members per transaction: fewer round trips and commits, ~120 MB peak RSS
FRESH = timedelta(minutes=15)  # a snapshot this recent is the audience as the marketer just saw it


async def _start(session: AsyncSession, core: Core, campaign: Campaign) -> None:
    """Freeze the audience (the segment's snapshot, refreshed unless it was just saved or refreshed)
    and open the attribution window."""
    now = core.clock.now()
    segment = await session.get(Segment, campaign.segment_id)
    if segment is None or segment.refreshed_at is None or segment.refreshed_at < now - FRESH:
        campaign.audience_count = await refresh_segment(session, core.rules, campaign.segment_id, now)
    else:
        campaign.audience_count = segment.member_count
    campaign.status, campaign.started_at, campaign.updated_at = SENDING, now, now
    log.info("campaign %s starts: %d members", campaign.id, campaign.audience_count)


async def _insert_assignments(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await insert_ignoring_conflicts(session, CampaignMember.__table__, rows, ("campaign_id", "member_id"))


async def expand_batch(core: Core, campaign_id: int, batch_size: int = BATCH) -> int:
    """Expand the next batch; 0 when there is nothing (more) to do now."""
    settings, now = core.settings, core.clock.now()
    async with core.transaction() as session:
        campaign = await _campaign(session, campaign_id, lock=True)
        if campaign.status == SCHEDULED and campaign.scheduled_at is not None and campaign.scheduled_at <= now:
            await _start(session, core, campaign)
            return 1  # the snapshot is its own transaction; members follow
        if campaign.status != SENDING:
            return 0
        query = (select(*MEMBER_FIELDS).join(SegmentMember, SegmentMember.member_id == Member.id)
                 .where(SegmentMember.segment_id == campaign.segment_id).order_by(SegmentMember.member_id)
                 .limit(batch_size))
        if campaign.cursor is not None:  # on both sides, so each batch reads index ranges, not the table
            query = query.where(SegmentMember.member_id > campaign.cursor, Member.id > campaign.cursor)
        members = (await session.execute(query)).all()
        if not members:
            campaign.status, campaign.finished_at, campaign.updated_at = DONE, now, now
            log.info("campaign %s expanded: %d members", campaign.id, campaign.expanded_count)
            return 0
        arms = await variants_of(session, campaign_id)
        weights = [(v.code, v.weight) for v in arms]
        templates = {v.code: v.templates for v in arms}
        channels = list(campaign.channels)
        who_all = await recipients_of(session, settings, members, now, ordered=True)
        messages, assignments = [], []
        source = source_of(campaign_id)
        whens: dict[Any, Any] = {}  # per time zone: the batch shares one `now`
        texts: dict[tuple[str, str, str, tuple[str, ...]], dict[str, dict[str, str]]] = {}
        for m in members:
            variant = assign_variant(campaign_id, m.id, campaign.control_percent, weights)
            assignment = {"campaign_id": campaign_id, "member_id": m.id, "variant": variant, "channel": None}
            assignments.append(assignment)
            if variant == CONTROL:
                continue
            who = who_all[m.id]
            chosen = next_channel("campaign", tuple(channels), who)
            if chosen is None:
                continue  # no channel with consent reaches them: counted as opted out
            channel, rest = chosen
            assignment["channel"] = channel
            context = member_fields(settings, m)
            key = (variant, context["language"], channel, rest)
            if key not in texts:
                texts[key] = texts_for(templates[variant], context["language"], [channel, *rest])
            context["templates"] = texts[key]
            context["variant"] = variant
            if who.zone not in whens:
                whens[who.zone] = send_time("campaign", now, who.zone, settings.notify)
            messages.append(message_row(
                source=source, recipient=str(m.id), member_id=m.id, kind="campaign", channel=channel,
                address=who.addresses[channel], rest=rest, when=whens[who.zone], now=now, context=context))
        await insert_messages(session, messages)
        await _insert_assignments(session, assignments)
        campaign.cursor = members[-1].id
        campaign.expanded_count += len(members)
        campaign.updated_at = now
        return len(members)


async def expand_campaign(core: Core, campaign_id: int, batch_size: int = BATCH) -> int:
    """Run the expansion to its end (or until cancelled); returns the members handled by this call."""
    total = 0
    while done := await expand_batch(core, campaign_id, batch_size):
        total += done
    return total


async def run_due_campaigns(core: Core, batch_size: int = BATCH) -> list[int]:
    """The scheduler's job: start every campaign whose time has come, continue every one that is
    sending (a crash left it half done). Running it twice changes nothing the second time."""
    now = core.clock.now()
    async with core.reading() as session:
        due = list((await session.execute(select(Campaign.id).where(
            ((Campaign.status == SCHEDULED) & (Campaign.scheduled_at <= now)) | (Campaign.status == SENDING))
            .order_by(Campaign.id))).scalars())
    for campaign_id in due:
        await expand_campaign(core, campaign_id, batch_size)
    return due
