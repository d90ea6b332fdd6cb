"""The demo's baskets say something, and the scheduler's leader recomputes them every night."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from notifications.campaigns import attribution, seed_demo_campaign
from notifications.campaigns.demo import CAMPAIGN_DAYS_AGO, CAMPAIGN_NAME, CONTROL_PERCENT
from notifications.worker import Worker
from shared.core import Core
from shared.db.models.campaigns import CONTROL, DONE, Campaign, source_of
from shared.db.models.messages import DELIVERED, Message
from shared.db.models.offers import Association, MemberRecommendation
from shared.demo import demo_phone, seed_demo
from shared.members import find_by_phone
from shared.offers import run_recommendations
from shared.offers.personal import offers_of


async def _rows(core: Core) -> list[tuple[str, str, str, int]]:
    async with core.reading() as session:
        result = await session.execute(
            select(MemberRecommendation.member_id, MemberRecommendation.kind, MemberRecommendation.item)
            .add_columns(MemberRecommendation.rank)
            .order_by(MemberRecommendation.member_id, MemberRecommendation.kind, MemberRecommendation.rank)
        )
        return [(str(m), k, i, r) for m, k, i, r in result.all()]


async def test_the_demo_baskets_pair_wine_with_cheese_and_coffee_with_pastry(core: Core) -> None:
    await seed_demo(core, members=60)
    report = await run_recommendations(core)
    async with core.reading() as session:
        lift = {
            (a.antecedent, a.consequent): a.lift
            for a in (await session.execute(select(Association).where(Association.kind == "category"))).scalars()
        }
        offered = set((await session.execute(select(MemberRecommendation.category).distinct())).scalars())
    assert lift[("wine", "cheese")] > 1.5
    assert lift[("coffee", "bakery")] > 1.5
    assert report.recommendations["category"] > 30
    assert not offered & {"tobacco", "wine", "spirits", "beer"}
    before = await _rows(core)
    await run_recommendations(core)  # a second run the same night changes nothing
    assert await _rows(core) == before


async def test_the_scheduler_leader_recomputes_recommendations_nightly(core: Core) -> None:
    await seed_demo(core, members=10)
    worker = Worker(core, {})
    assert await worker.keep_lease() is True
    try:
        job = worker.scheduler.get_job("recommendations")
        assert str(job.trigger) == f"cron[hour='{core.settings.recommend.hour_utc}', minute='0']"
        await job.func()
        async with core.reading() as session:
            assert (await session.execute(select(func.count()).select_from(MemberRecommendation))).scalar_one() > 0
    finally:
        await worker.step_down()


async def test_the_demo_member_has_a_personal_offer_from_their_recommendations(core: Core) -> None:
    await seed_demo(core, members=60)
    async with core.reading() as session:
        demo = await find_by_phone(session, demo_phone(0))
        assert demo is not None
        offers = await offers_of(session, demo.id, core.clock.now())
        top = {
            r.kind: r.item
            for r in (
                await session.execute(
                    select(MemberRecommendation).where(
                        MemberRecommendation.member_id == demo.id, MemberRecommendation.rank == 1
                    )
                )
            ).scalars()
        }
    (offer,) = offers
    assert (offer.kind, offer.item, offer.multiplier) == ("category", top["category"], 2)


async def test_the_demo_campaign_shows_offer_redemption_against_its_control_group(core: Core) -> None:
    await seed_demo(core, members=60, past=[seed_demo_campaign])
    async with core.reading() as session:
        (campaign,) = (await session.execute(select(Campaign).where(Campaign.name == CAMPAIGN_NAME))).scalars()
        report = await attribution(session, campaign.id)  # what the console's results page shows
        statuses = dict(
            (
                await session.execute(
                    select(Message.status, func.count())
                    .where(Message.source == source_of(campaign.id))
                    .group_by(Message.status)
                )
            ).all()
        )
    assert (campaign.status, campaign.control_percent) == (DONE, CONTROL_PERCENT)
    assert campaign.promotion_id is not None
    assert campaign.started_at is not None
    assert abs(core.clock.now() - campaign.started_at - timedelta(days=CAMPAIGN_DAYS_AGO)) < timedelta(days=1)
    assert list(statuses) == [DELIVERED]  # the past campaign's messages went out then, not at `make run`
    assert report["offers"] is True
    arm, control = report["groups"]
    assert (arm["group"], control["group"]) == ("A", CONTROL)
    assert arm["members"] > control["members"] > 0
    assert 0 < arm["offers_redeemed"] <= arm["offers"]
    assert 0 < control["offers_redeemed"] <= control["offers"]
    assert arm["offer_redemption"] > 0
    assert control["offer_redemption"] > 0
    assert arm["offer_revenue_per_member"] > 0
    assert arm["revenue_per_member"] > 0
    assert arm["offer_uplift"] == round(arm["offer_redemption"] - control["offer_redemption"], 2)
    again = await seed_demo(core, members=60, past=[seed_demo_campaign])
    async with core.reading() as session:
        campaigns = (await session.execute(select(func.count()).select_from(Campaign))).scalar_one()
    assert (again.seeded, campaigns) == (False, 1)
