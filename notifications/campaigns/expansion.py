"""Campaign expansion: the audience, in keyset batches over member id, becomes message rows (one per
campaign, member and channel, under the messages' unique key) and assignment rows (variant or
control group). Each batch commits with the cursor that follows it, so a killed or restarted
expansion resumes where it stopped and never duplicates a message. Messages are queued with their
channel, address and send time decided and their text left to the worker that sends them
(campaigns.deferred). expand_slice is the one way to expand a slice: on PostgreSQL one statement
(campaigns.sql, generated from the same routing policy), elsewhere member by member here."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.bulk_insert import insert_ignoring_conflicts
from notifications.campaigns.audience import MEMBER_FIELDS, member_language, recipients_of
from notifications.campaigns.deferred import deferred_meta
from notifications.campaigns.service import load_campaign, variants_of
from notifications.campaigns.sql import KIND, sql_slice
from notifications.planner import insert_messages, queued_row
from notifications.routing import next_channel, send_time
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member, Segment, SegmentMember
from shared.db.models.campaigns import CONTROL, DONE, SCHEDULED, SENDING, Campaign, CampaignMember, source_of
from shared.errors import InvalidInput
from shared.events import EventKind, emit
from shared.offers.personal import issue_offers
from shared.segments import refresh_segment

log = logging.getLogger("loyalty.campaigns")
BATCH = 5000  # members per transaction on the Python path: fewer round trips and commits, ~120 MB peak RSS
SQL_BATCH = 20000  # members per statement on PostgreSQL (about a second each at the benchmark's scale)
FRESH = timedelta(minutes=15)  # a snapshot this recent is the audience as the marketer just saw it


def assign_variant(
    campaign_id: int, member_id: uuid.UUID, control_percent: int, variants: list[tuple[str, int]]
) -> str:
    """Deterministic: the same member lands in the same arm however often expansion restarts. The
    first 32 bits of md5("campaign:member") decide the control group, the next 32 the arm; the
    PostgreSQL path (campaigns.sql) computes the same in SQL."""
    digest = hashlib.md5(f"{campaign_id}:{member_id}".encode(), usedforsecurity=False).hexdigest()
    if int(digest[:8], 16) % 100 < control_percent:
        return CONTROL
    point = int(digest[8:16], 16) % sum(weight for _, weight in variants)
    for code, weight in variants:
        if point < weight:
            return code
        point -= weight
    raise AssertionError("weights exhausted")


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


async def _python_slice(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    arms: list[tuple[str, int]],
    batch_size: int,
    now: datetime,
) -> tuple[int, uuid.UUID | None]:
    """The reference path (and SQLite's): the next slice of the snapshot member by member."""
    query = (
        select(*MEMBER_FIELDS)
        .join(SegmentMember, SegmentMember.member_id == Member.id)
        .where(SegmentMember.segment_id == campaign.segment_id)
        .order_by(SegmentMember.member_id)
        .limit(batch_size)
    )
    if campaign.cursor is not None:  # on both sides, so each batch reads index ranges, not the table
        query = query.where(SegmentMember.member_id > campaign.cursor, Member.id > campaign.cursor)
    members = (await session.execute(query)).all()
    if not members:
        return 0, None
    channels = tuple(campaign.channels)
    who_all = await recipients_of(session, settings, members, now, ordered=True)
    messages, assignments = [], []
    source = source_of(campaign.id)
    whens: dict[Any, Any] = {}  # per time zone: the batch shares one `now`
    for m in members:
        variant = assign_variant(campaign.id, m.id, campaign.control_percent, arms)
        assignment = {"campaign_id": campaign.id, "member_id": m.id, "variant": variant, "channel": None}
        assignments.append(assignment)
        if variant == CONTROL:
            continue
        who = who_all[m.id]
        chosen = next_channel(KIND, channels, who)
        if chosen is None:
            continue  # no channel with consent reaches them: counted as opted out
        channel, rest = chosen
        assignment["channel"] = channel
        if who.zone not in whens:
            whens[who.zone] = send_time(KIND, now, who.zone, settings.notify)
        messages.append(
            queued_row(
                source=source,
                recipient=str(m.id),
                member_id=m.id,
                kind=KIND,
                channel=channel,
                address=who.addresses[channel],
                rest=rest,
                when=whens[who.zone],
                now=now,
                language=member_language(settings, m.language),
                meta=deferred_meta(campaign.id, variant),
            )
        )
    await insert_messages(session, messages)
    await insert_ignoring_conflicts(session, CampaignMember.__table__, assignments, ("campaign_id", "member_id"))
    return len(members), members[-1].id


async def _issue_offers(session: AsyncSession, campaign: Campaign, last: uuid.UUID, now: datetime) -> None:
    """The slice just expanded gets the campaign's personal offers in the same transaction; the
    control group's are held (never priced or shown, only watched, for the results)."""
    assert campaign.promotion_id is not None
    audience = select(
        CampaignMember.member_id.label("member_id"), (CampaignMember.variant == CONTROL).label("held")
    ).where(CampaignMember.campaign_id == campaign.id, CampaignMember.member_id <= last)
    if campaign.cursor is not None:
        audience = audience.where(CampaignMember.member_id > campaign.cursor)
    try:  # refused before anything is written
        await issue_offers(session, campaign.promotion_id, audience, now, campaign_id=campaign.id)
    except InvalidInput as exc:  # the promotion was switched off or ended: the messages still go
        log.warning("campaign %s: no offers issued: %s", campaign.id, exc)


async def expand_slice(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    arms: list[tuple[str, int]],
    now: datetime,
    *,
    batch_size: int | None = None,
    in_sql: bool | None = None,
) -> tuple[int, uuid.UUID | None]:
    """Expand the next slice of the campaign's snapshot after its cursor, in the caller's transaction;
    returns how many members and the last one (None: nothing left). in_sql: one PostgreSQL statement
    (the default there) or member by member (always on SQLite); both write the same rows."""
    in_sql = session.get_bind().dialect.name == "postgresql" and in_sql is not False
    expand = sql_slice if in_sql else _python_slice
    return await expand(session, settings, campaign, arms, batch_size or (SQL_BATCH if in_sql else BATCH), now)


async def expand_batch(
    core: Core, campaign_id: int, batch_size: int | None = None, *, in_sql: bool | None = None
) -> int:
    """Expand the next batch; 0 when there is nothing (more) to do now. in_sql: see expand_slice."""
    now = core.clock.now()
    async with core.transaction() as session:
        campaign = await load_campaign(session, campaign_id, lock=True)
        if campaign.status == SCHEDULED and campaign.scheduled_at is not None and campaign.scheduled_at <= now:
            await _start(session, core, campaign)
            return 1  # the snapshot is its own transaction; members follow
        if campaign.status != SENDING:
            return 0
        arms = [(v.code, v.weight) for v in await variants_of(session, campaign_id)]
        handled, last = await expand_slice(
            session, core.settings, campaign, arms, now, batch_size=batch_size, in_sql=in_sql
        )
        if last is None:
            campaign.status, campaign.finished_at, campaign.updated_at = DONE, now, now
            await emit(
                session,
                EventKind.CAMPAIGN_FINISHED,
                None,
                {"campaign_id": campaign.id, "name": campaign.name, "members": campaign.expanded_count},
                now,
                dedup_key=f"campaign-finished:{campaign.id}",
            )
            log.info("campaign %s expanded: %d members", campaign.id, campaign.expanded_count)
            return 0
        if campaign.promotion_id is not None:
            await _issue_offers(session, campaign, last, now)
        campaign.cursor = last
        campaign.expanded_count += handled
        campaign.updated_at = now
        return handled


async def expand_campaign(
    core: Core, campaign_id: int, batch_size: int | None = None, *, in_sql: bool | None = None
) -> int:
    """Run the expansion to its end (or until cancelled); returns the members handled by this call."""
    total = 0
    while done := await expand_batch(core, campaign_id, batch_size, in_sql=in_sql):
        total += done
    return total


async def run_due_campaigns(core: Core, batch_size: int | None = None) -> list[int]:
    """The scheduler's job: start every campaign whose time has come, continue every one that is
    sending (a crash left it half done). Running it twice changes nothing the second time."""
    now = core.clock.now()
    async with core.reading() as session:
        due = list(
            (
                await session.execute(
                    select(Campaign.id)
                    .where(
                        ((Campaign.status == SCHEDULED) & (Campaign.scheduled_at <= now)) | (Campaign.status == SENDING)
                    )
                    .order_by(Campaign.id)
                )
            ).scalars()
        )
    for campaign_id in due:
        await expand_campaign(core, campaign_id, batch_size)
    return due
