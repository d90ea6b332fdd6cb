"""Texts already stored (written before the checks, or straight into the database) are checked
again before anything renders them: at sending a refused text fails its message with a reason and
a refused chain is paused; nothing in them ever runs, and the worker carries on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from notifications.campaigns import create_campaign, preview, schedule_campaign, send_test
from notifications.campaigns.chains import run_due_chains
from notifications.campaigns.expansion import expand_campaign
from notifications.worker import Worker
from shared.core import Core
from shared.db.models.campaigns import CampaignVariant, TriggerChain
from shared.db.models.messages import Message
from shared.errors import InvalidInput
from tests.integration.marketing.builders import days_ago, member
from tests.integration.marketing.test_campaigns import campaign, campaign_messages, segment
from tests.integration.marketing.test_chains import STEPS, chain
from tests.integration.notifications.test_flow import channels


def planting(marker: Path) -> str:
    """A text that, if it ever ran, would leave a file behind (and print the user id)."""
    return (
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
        "{{ cycler.__init__.__globals__.os.getuid() }}"
    )


async def store_texts(core: Core, campaign_id: int, text: str) -> None:
    """Put a text into a saved campaign behind the checks' back, as an old row or a DB edit would."""
    async with core.transaction() as session:
        for variant in (
            await session.execute(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id))
        ).scalars():
            variant.templates = {ch: {"ru": {"text": text}} for ch in variant.templates}


async def send_all(worker: Worker) -> None:
    while await worker.run_once():
        pass


async def test_a_stored_text_that_reaches_for_the_server_fails_its_messages_and_never_runs(
    core: Core, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    for n in range(3):
        await member(core, n, first_name=f"Имя{n}")
    campaign_id = await campaign(
        core,
        await segment(core),
        channels=["sms"],
        control_percent=0,
        variants=[{"code": "A", "templates": {"sms": {"ru": {"text": "{{ name }}!"}}}}],
    )
    await store_texts(core, campaign_id, planting(marker))
    await expand_campaign(core, campaign_id)
    sms = channels()
    await send_all(Worker(core, sms))  # type: ignore[arg-type]
    assert not marker.exists()
    assert [m for m in sms["sms"].sent if m.kind == "campaign"] == []
    messages = await campaign_messages(core, campaign_id)
    assert len(messages) == 3
    for message in messages:
        assert message.status == "undeliverable"
        assert message.text == ""
        assert message.error is not None
        assert "text was refused" in message.error
        assert "cycler" in message.error


async def test_a_stored_text_that_would_come_out_huge_fails_at_sending(core: Core) -> None:
    await member(core, 1)
    campaign_id = await campaign(
        core,
        await segment(core),
        channels=["sms"],
        control_percent=0,
        variants=[{"code": "A", "templates": {"sms": {"ru": {"text": "{{ name }}!"}}}}],
    )
    await store_texts(core, campaign_id, "{% for i in range(10**5) %}{{ card }}{% endfor %}")
    await expand_campaign(core, campaign_id)
    sms = channels()
    await send_all(Worker(core, sms))  # type: ignore[arg-type]
    [message] = await campaign_messages(core, campaign_id)
    assert message.status == "undeliverable"
    assert "{% for %} is not allowed" in (message.error or "")
    assert [m for m in sms["sms"].sent if m.kind == "campaign"] == []


async def test_stored_refused_texts_cannot_be_scheduled_previewed_or_test_sent(core: Core, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    anna = await member(core, 1, first_name="Anna")
    segment_id = await segment(core)
    async with core.transaction() as session:
        created = await create_campaign(
            session,
            name="Old",
            segment_id=segment_id,
            channels=["sms"],
            now=core.clock.now(),
            variants=[{"code": "A", "templates": {"sms": {"ru": {"text": "Hi"}}}}],
        )
    await store_texts(core, created.id, planting(marker))
    async with core.transaction() as session:
        with pytest.raises(InvalidInput, match="may not be sent"):
            await schedule_campaign(session, created.id, core.clock.now(), core.clock.now())
        for member_id in (anna, None):
            with pytest.raises(InvalidInput) as refused:
                await preview(session, core.settings, created.id, member_id, "sms")
            assert "cycler" in refused.value.errors[0].message
        with pytest.raises(InvalidInput):
            await send_test(session, core.settings, created.id, "sms", "+79990001122", core.clock.now())
    assert not marker.exists()
    async with core.reading() as session:
        assert (await session.execute(select(Message))).scalars().all() == []


async def test_a_stored_chain_text_pauses_the_chain_and_never_runs(core: Core, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    await member(core, 1, consents=("sms",), created=days_ago(core, 90))
    chain_id = await chain(core)
    steps: list[dict[str, Any]] = [dict(step) for step in STEPS]
    steps[0]["templates"] = {"telegram": {"ru": {"text": planting(marker)}}, "sms": {"ru": {"text": planting(marker)}}}
    async with core.transaction() as session:
        await session.execute(update(TriggerChain).where(TriggerChain.id == chain_id).values(steps=steps))
    assert await run_due_chains(core) == 0
    assert not marker.exists()
    async with core.reading() as session:
        stored = await session.get(TriggerChain, chain_id)
        assert stored is not None
        assert stored.active is False
        assert (await session.execute(select(Message).where(Message.kind == "chain"))).scalars().all() == []
    await send_all(Worker(core, channels()))  # type: ignore[arg-type]


async def test_a_queued_chain_message_with_a_refused_text_does_not_fall_through_into_running_it(
    core: Core, tmp_path: Path
) -> None:
    """A chain message carries its texts for the rest of its cascade; falling through re-renders
    them, so a text stored around the checks must be refused there too."""
    from notifications.channels.base import DeliveryStatus

    marker = tmp_path / "ran"
    await member(core, 1, consents=("telegram", "sms"), telegram_user_id=42, created=days_ago(core, 90))
    await chain(core)
    await run_due_chains(core)
    async with core.transaction() as session:
        queued = (await session.execute(select(Message).where(Message.kind == "chain"))).scalar_one()
        assert queued.channel == "telegram"
        assert queued.cascade == ["sms"]
        context = dict(queued.meta["context"])
        context["templates"] = {**context["templates"], "sms": {"text": planting(marker)}}
        queued.meta = {**queued.meta, "context": context}
    scripted = channels(telegram=DeliveryStatus.UNDELIVERABLE)
    await send_all(Worker(core, scripted))  # type: ignore[arg-type]
    assert not marker.exists()
    assert [m for m in scripted["sms"].sent if m.kind == "chain"] == []
    async with core.reading() as session:
        chain_messages = (await session.execute(select(Message).where(Message.kind == "chain"))).scalars()
        assert [m.channel for m in chain_messages] == ["telegram"]
