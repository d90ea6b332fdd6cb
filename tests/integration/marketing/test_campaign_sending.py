"""Campaign messages are queued without text and written when a worker sends them: with the
member's balance at that moment, for the channel they finally go through, and never for a
member who is no longer there."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from notifications.campaigns.expansion import expand_campaign
from notifications.channels.base import DeliveryStatus
from notifications.worker import Worker
from shared.core import Core
from shared.db.models import Member, SegmentMember
from shared.db.models.messages import Message
from shared.support import adjust_points, merge_members
from tests.integration.marketing.builders import member
from tests.integration.marketing.test_campaigns import TEXTS, campaign, campaign_messages, segment
from tests.integration.notifications.test_flow import channels


async def balance(core: Core, member_id: uuid.UUID) -> int:
    async with core.reading() as session:
        found = await session.get(Member, member_id)
        assert found is not None
        return found.available


async def send_all(worker: Worker) -> None:
    while await worker.run_once():
        pass


async def test_the_text_shows_the_balance_when_it_is_sent_not_when_it_was_queued(core: Core) -> None:
    anna = await member(core, 1, first_name="Анна")
    campaign_id = await campaign(
        core, await segment(core), channels=["sms"], control_percent=0, variants=[{"code": "A", "templates": TEXTS}]
    )
    await expand_campaign(core, campaign_id)
    [queued] = await campaign_messages(core, campaign_id)
    assert queued.text == ""
    assert queued.cost_parts == 0
    before = await balance(core, anna)
    async with core.transaction() as session:
        await adjust_points(
            session, core.clock, core.rules, anna, 250, "goodwill", actor="test", request_id="adjust-0001"
        )
    sms = channels()
    await send_all(Worker(core, sms))  # type: ignore[arg-type]
    [sent] = await campaign_messages(core, campaign_id)
    assert sms["sms"].sent[0].text == sent.text == f"Анна, скидка 10% до вс. Баланс {before + 250}"
    assert sent.status == "delivered"
    assert sent.cost_parts == 1


async def test_a_message_that_falls_through_is_written_for_the_next_channel(core: Core) -> None:
    ivan = await member(core, 1, consents=("telegram", "sms"), telegram_user_id=42, first_name="Ivan", language="en")
    points = await balance(core, ivan)
    campaign_id = await campaign(
        core, await segment(core), control_percent=0, variants=[{"code": "A", "templates": TEXTS}]
    )
    await expand_campaign(core, campaign_id)
    scripted = channels(telegram=DeliveryStatus.UNDELIVERABLE)  # the member blocked the bot
    await send_all(Worker(core, scripted))  # type: ignore[arg-type]
    by_channel = {m.channel: m for m in await campaign_messages(core, campaign_id)}
    assert by_channel["telegram"].status == "undeliverable"
    assert by_channel["telegram"].text.startswith(f"Ivan, you have {points} points")
    # the SMS arm has no English text: the Russian one, for SMS, written when the SMS went
    assert by_channel["sms"].status == "delivered"
    assert by_channel["sms"].text == f"Ivan, скидка 10% до вс. Баланс {points}"
    assert [m.text for m in scripted["sms"].sent] == [by_channel["sms"].text]


async def test_a_member_merged_away_before_sending_gets_nothing(core: Core) -> None:
    duplicate = await member(core, 1, first_name="Дубль")
    keep = await member(core, 2, first_name="Анна")
    campaign_id = await campaign(
        core, await segment(core), channels=["sms"], control_percent=0, variants=[{"code": "A", "templates": TEXTS}]
    )
    await expand_campaign(core, campaign_id)
    async with core.transaction() as session:
        await merge_members(session, core.clock, core.rules, duplicate, keep, actor="support", reason="same person")
    sms = channels()
    await send_all(Worker(core, sms))  # type: ignore[arg-type]
    by_member = {m.member_id: m for m in await campaign_messages(core, campaign_id)}
    assert by_member[duplicate].status == "undeliverable"
    assert by_member[duplicate].text == ""
    assert "gone" in (by_member[duplicate].error or "")
    assert by_member[keep].status == "delivered"
    assert [m.to for m in sms["sms"].sent if m.kind == "campaign"] == [by_member[keep].address]
    async with core.reading() as session:  # the snapshot lost the duplicate with the merge
        left = (await session.execute(select(SegmentMember.member_id))).scalars().all()
    assert left == [keep]


async def test_a_retry_sends_the_text_of_the_first_attempt(core: Core) -> None:
    anna = await member(core, 1, first_name="Анна")
    campaign_id = await campaign(
        core, await segment(core), channels=["sms"], control_percent=0, variants=[{"code": "A", "templates": TEXTS}]
    )
    await expand_campaign(core, campaign_id)
    points = await balance(core, anna)
    failing = channels(sms=DeliveryStatus.FAILED)
    await Worker(core, failing).send_due()  # type: ignore[arg-type]
    async with core.transaction() as session:
        await adjust_points(
            session, core.clock, core.rules, anna, 100, "goodwill", actor="test", request_id="adjust-0002"
        )
        message = (await session.execute(select(Message).where(Message.member_id == anna))).scalar_one()
        message.next_attempt_at = core.clock.now()
    sms = channels()
    await send_all(Worker(core, sms))  # type: ignore[arg-type]
    assert (
        [m.text for m in failing["sms"].sent]
        == [m.text for m in sms["sms"].sent if m.kind == "campaign"]
        == [f"Анна, скидка 10% до вс. Баланс {points}"]
    )
