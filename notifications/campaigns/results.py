"""What a campaign did, computed from the messages and assignment rows: progress while sending,
results per channel, and purchases attributed within N days against the control group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.campaigns.service import load_campaign
from shared.db.models import Purchase
from shared.db.models.campaigns import CONTROL, CampaignMember, source_of
from shared.db.models.messages import DELIVERED, FAILED, QUEUED, SENDING, SENT, SKIPPED, UNDELIVERABLE, Message
from shared.db.models.offers import PersonalOffer

BUCKETS = {
    QUEUED: "queued",
    SENDING: "queued",
    FAILED: "queued",  # failed = still retrying
    SENT: "sent",
    DELIVERED: "delivered",
    UNDELIVERABLE: "failed",
    SKIPPED: "failed",
}


async def results(session: AsyncSession, campaign_id: int) -> dict[str, Any]:
    """Per channel: queued / sent / delivered / failed; plus members no channel could reach with
    consent (opted out) and the control group. Test sends are never counted."""
    campaign = await load_campaign(session, campaign_id)
    rows = await session.execute(
        select(Message.channel, Message.status, func.count())
        .where(Message.source == source_of(campaign_id))
        .group_by(Message.channel, Message.status)
    )
    channels: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        figures = channels.setdefault(channel, {"queued": 0, "sent": 0, "delivered": 0, "failed": 0})
        figures[BUCKETS.get(status, "failed")] += int(count)
    groups = await session.execute(
        select(
            func.count(),
            func.sum(case((CampaignMember.variant == CONTROL, 1), else_=0)),
            func.sum(case(((CampaignMember.variant != CONTROL) & CampaignMember.channel.is_(None), 1), else_=0)),
        ).where(CampaignMember.campaign_id == campaign_id)
    )
    assigned, control, opted_out = groups.one()
    return {
        "status": campaign.status,
        "audience": campaign.audience_count,
        "assigned": int(assigned or 0),
        "control": int(control or 0),
        "opted_out": int(opted_out or 0),
        "channels": channels,
    }


async def progress(session: AsyncSession, campaign_id: int) -> dict[str, Any]:
    """For the live progress bar: members expanded, and messages settled (sent, delivered or failed
    for good) out of those queued so far."""
    campaign = await load_campaign(session, campaign_id)
    figures = await results(session, campaign_id)
    totals = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
    for per_channel in figures["channels"].values():
        for key, value in per_channel.items():
            totals[key] += value
    messages = sum(totals.values())
    settled = messages - totals["queued"]
    expanded = campaign.expanded_count / campaign.audience_count if campaign.audience_count else 0.0
    sent = settled / messages if messages else 0.0
    return {
        "status": campaign.status,
        "audience": campaign.audience_count,
        "expanded": campaign.expanded_count,
        "messages": messages,
        "settled": settled,
        **totals,
        "percent": round(100 * (expanded if campaign.status == "sending" else 1.0) * sent, 1),
    }


async def attribution(session: AsyncSession, campaign_id: int) -> dict[str, Any]:
    """Purchases within attribution_days after the campaign started, per A/B arm and control:
    conversion = buyers / members; revenue in kopecks paid net of refunds; redemptions = purchases
    paid partly with points. Lift = an arm's conversion minus the control's, in percentage points."""
    campaign = await load_campaign(session, campaign_id)
    if campaign.started_at is None:
        return {"window": None, "groups": [], "offers": False}
    end = campaign.started_at + timedelta(days=campaign.attribution_days)
    sizes = dict(
        (
            await session.execute(
                select(CampaignMember.variant, func.count())
                .where(CampaignMember.campaign_id == campaign_id)
                .group_by(CampaignMember.variant)
            )
        ).all()
    )
    bought = await session.execute(
        select(
            CampaignMember.variant,
            func.count(distinct(Purchase.member_id)),
            func.count(Purchase.id),
            func.coalesce(func.sum(Purchase.paid - Purchase.refunded_paid), 0),
            func.sum(case((Purchase.redeemed > 0, 1), else_=0)),
            func.coalesce(func.sum(Purchase.redeemed), 0),
        )
        .join(Purchase, Purchase.member_id == CampaignMember.member_id)
        .where(
            CampaignMember.campaign_id == campaign_id,
            Purchase.purchased_at >= campaign.started_at,
            Purchase.purchased_at < end,
        )
        .group_by(CampaignMember.variant)
    )
    by_group = {row[0]: row[1:] for row in bought}
    groups = []
    for variant, members in sorted(sizes.items(), key=lambda item: (item[0] == CONTROL, item[0])):
        buyers, purchases, revenue, redemptions, points = by_group.get(variant, (0, 0, 0, 0, 0))
        groups.append(
            {
                "group": variant,
                "members": int(members),
                "buyers": int(buyers),
                "purchases": int(purchases),
                "revenue": int(revenue),
                "redemptions": int(redemptions or 0),
                "points_redeemed": int(points),
                "conversion": round(100 * buyers / members, 2),
                "revenue_per_member": int(revenue) // int(members),
            }
        )
    control = next((g for g in groups if g["group"] == CONTROL), None)
    for group in groups:
        group["lift"] = (
            round(group["conversion"] - control["conversion"], 2)
            if control is not None and group is not control
            else None
        )
    if campaign.promotion_id is not None:
        await _offer_figures(session, campaign_id, campaign.promotion_id, groups)
    return {"window": [campaign.started_at, end], "groups": groups, "offers": campaign.promotion_id is not None}


async def _offer_figures(
    session: AsyncSession, campaign_id: int, promotion_id: int, groups: list[dict[str, Any]]
) -> None:
    """The personal offer per group: offers issued (held in the control group), redeemed (a receipt
    held the member's item while the offer ran) and that item's revenue (line amounts after
    discounts); redemption = redeemed / offers; uplift = redemption(arm) − redemption(control)."""
    rows = await session.execute(
        select(
            CampaignMember.variant,
            func.count(PersonalOffer.id),
            func.count(PersonalOffer.redeemed_at),
            func.coalesce(func.sum(PersonalOffer.revenue), 0),
        )
        .join(
            PersonalOffer,
            (PersonalOffer.member_id == CampaignMember.member_id)
            & (PersonalOffer.promotion_id == promotion_id)
            & (PersonalOffer.campaign_id == campaign_id),
        )
        .where(CampaignMember.campaign_id == campaign_id)
        .group_by(CampaignMember.variant)
    )
    by_group = {row[0]: row[1:] for row in rows}
    for group in groups:
        offers, redeemed, revenue = (int(v) for v in by_group.get(group["group"], (0, 0, 0)))
        group |= {
            "offers": offers,
            "offers_redeemed": redeemed,
            "offer_revenue": revenue,
            "offer_redemption": round(100 * redeemed / offers, 2) if offers else 0.0,
            "offer_revenue_per_member": revenue // group["members"],
        }
    control = next((g for g in groups if g["group"] == CONTROL), None)
    for group in groups:
        group["offer_uplift"] = (
            round(group["offer_redemption"] - control["offer_redemption"], 2)
            if control is not None and group is not control
            else None
        )
