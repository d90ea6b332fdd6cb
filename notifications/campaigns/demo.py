"""The demo's finished campaign: a segment, a personal promotion and a control group, sent through
the real campaign path as of CAMPAIGN_DAYS_AGO; then some of its audience buy at the till while the
offers run, so the console's results compare the offer's redemption with the control group's.
`loyalty demo` passes seed_demo_campaign to shared.demo.seed_demo as one of its past steps."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select, update

from notifications.campaigns.deferred import render_claimed
from notifications.campaigns.expansion import expand_campaign
from notifications.campaigns.service import create_campaign, schedule_campaign
from shared import purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models.campaigns import CONTROL, CampaignMember, source_of
from shared.db.models.messages import DELIVERED, QUEUED, Message
from shared.db.models.offers import PersonalOffer
from shared.demo import CATALOGUE, SKU, STORES, basket
from shared.offers import run_recommendations
from shared.promotions.definitions import create_promotion
from shared.segments import save_segment

# The finished campaign: sent this many days before seeding to the members active in the 90 days before,
# each with a personal ×3 offer for OFFER_DAYS; a fifth held back as the control group. Who then buys
# their offered item in the offer's days: recipients more often than the control group.
CAMPAIGN_NAME = "Для вас: ×3 баллов на любимое"
CAMPAIGN_DAYS_AGO = 13
OFFER_DAYS = 10
CONTROL_PERCENT = 20
BUYS_OFFER = {"recipients": 0.35, CONTROL: 0.15}
CAMPAIGN_TEXTS = {
    "telegram": {
        "ru": {"text": "{{ name }}, для вас: {{ offer }}"},
        "en": {"text": "{{ name }}, just for you: {{ offer }}"},
    },
    "email": {
        "ru": {"subject": "{{ name }}, персональное предложение", "text": "{{ name }}, для вас: {{ offer }}"},
        "en": {"subject": "{{ name }}, a personal offer", "text": "{{ name }}, just for you: {{ offer }}"},
    },
    "sms": {"ru": {"text": "{{ name }}, для вас: {{ offer }}"}, "en": {"text": "{{ name }}, for you: {{ offer }}"}},
}


async def seed_demo_campaign(core: Core, rng: random.Random, now: datetime) -> int:
    """A finished campaign with a personal promotion and a control group, created and expanded the way
    the console and the worker do it, as of CAMPAIGN_DAYS_AGO (at 11:00, inside every zone's sending
    hours); its messages are marked delivered then, like the rest of the demo's past. Some of the
    audience then buy their offered item at the till while the offers run. Returns the purchases made."""
    local = (now - timedelta(days=CAMPAIGN_DAYS_AGO)).astimezone(core.rules.zone)
    sent_at = local.replace(hour=11, minute=0, second=0, microsecond=0)
    past = Core(core.settings, FixedClock(sent_at), engine=core.engine)  # the same database, the past's clock
    await run_recommendations(past, sent_at)  # what the baskets said then: the offers' items
    async with past.transaction() as session:
        segment = await save_segment(
            session, past.rules, "Активные за 90 дней", {"last_purchase_days_max": 90}, sent_at
        )
        body = {"name": "Для вас: ×3 баллов", "kind": "personal", "multiplier": 3, "offer_days": OFFER_DAYS}
        promotion = await create_promotion(session, past.rules, body, sent_at)
        campaign = await create_campaign(
            session,
            name=CAMPAIGN_NAME,
            segment_id=segment.id,
            channels=["telegram", "email", "sms"],
            variants=[{"code": "A", "templates": CAMPAIGN_TEXTS}],
            control_percent=CONTROL_PERCENT,
            attribution_days=OFFER_DAYS,
            promotion_id=promotion.id,
            now=sent_at,
        )
        await schedule_campaign(session, campaign.id, sent_at, sent_at)
    await expand_campaign(past, campaign.id)
    async with past.transaction() as session:  # texts rendered as the worker does, delivered when planned
        source = Message.source == source_of(campaign.id)
        queued = list((await session.execute(select(Message).where(source, Message.status == QUEUED))).scalars())
        await render_claimed(session, past.settings, queued)
        await session.execute(
            update(Message)
            .where(source, Message.status == QUEUED)
            .values(
                status=DELIVERED,
                attempts=1,
                cascade=[],
                sent_at=Message.next_attempt_at,
                delivered_at=Message.next_attempt_at,
            )
        )
        audience = (
            await session.execute(
                select(CampaignMember.variant, PersonalOffer.member_id, PersonalOffer.kind, PersonalOffer.item)
                .join(PersonalOffer, PersonalOffer.member_id == CampaignMember.member_id)
                .where(CampaignMember.campaign_id == campaign.id, PersonalOffer.campaign_id == campaign.id)
                .order_by(PersonalOffer.member_id)
            )
        ).all()
    buyers = []
    for group, rate in BUYS_OFFER.items():  # in each group its share of buyers, at least one
        members = [row[1:] for row in audience if (row.variant == CONTROL) == (group == CONTROL)]
        buyers += rng.sample(members, min(len(members), max(1, round(rate * len(members)))))
    made = 0
    for member_id, kind, item in sorted(buyers):
        skus = [sku for sku, _, category, _ in CATALOGUE if (sku if kind == "sku" else category) == item]
        if not skus:
            continue
        sku, name, category, price = SKU[rng.choice(skus)]
        offered = {"sku": sku, "name": name, "category": category, "quantity": 1, "price": price, "amount": price}
        lines = [line for line in basket(rng) if line["sku"] != sku] + [offered]
        moment = sent_at + timedelta(minutes=rng.randint(60, 60 * 24 * OFFER_DAYS - 60))
        body = {
            "store_id": rng.choice(STORES)[0],
            "receipt_id": f"C{made:04d}",
            "purchased_at": moment.isoformat(),
            "member": {"member_id": str(member_id)},
            "lines": lines,
            "redeem": 0,
        }
        async with core.transaction() as session:
            await purchases.confirm(session, FixedClock(moment), core.rules, body)
        made += 1
    return made
