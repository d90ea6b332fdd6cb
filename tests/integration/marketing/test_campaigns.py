"""Campaigns end to end on the database: one message per member and channel, A/B arms and a
control group that gets nothing, resumable expansion, quiet hours and the promotional cap,
preview/cost/test send, results and attribution against the control group."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from notifications.campaigns import create_campaign, estimate, preview, schedule_campaign, send_test
from notifications.campaigns.expansion import expand_batch, expand_campaign, run_due_campaigns
from notifications.campaigns.results import attribution, progress, results
from notifications.worker import Worker
from shared.core import Core
from shared.db.models.campaigns import CONTROL, CampaignMember
from shared.db.models.messages import Message
from shared.errors import InvalidInput
from shared.segments import save_segment
from tests.integration.marketing.builders import bought, member
from tests.integration.notifications.test_flow import channels

TEXTS = {
    "telegram": {
        "ru": {"text": "{{ name }}, у вас {{ balance }} баллов. Скидка 10% до воскресенья!"},
        "en": {"text": "{{ name }}, you have {{ balance }} points. 10% off until Sunday!"},
    },
    "sms": {"ru": {"text": "{{ name }}, скидка 10% до вс. Баланс {{ balance }}"}},
}


async def segment(core: Core, definition: dict[str, Any] | None = None) -> int:
    async with core.transaction() as session:
        return (await save_segment(session, core.rules, "Audience", definition or {}, core.clock.now())).id


async def campaign(core: Core, segment_id: int, **extra: Any) -> int:
    fields: dict[str, Any] = {
        "name": "Weekend",
        "segment_id": segment_id,
        "channels": ["telegram", "sms"],
        "variants": [
            {"code": "A", "templates": TEXTS},
            {"code": "B", "templates": {**TEXTS, "sms": {"ru": {"text": "Б {{ card }}"}}}},
        ],
        "control_percent": 20,
    } | extra
    async with core.transaction() as session:
        created = await create_campaign(session, now=core.clock.now(), **fields)
        await schedule_campaign(session, created.id, core.clock.now(), core.clock.now())
    return created.id


async def campaign_messages(core: Core, campaign_id: int) -> list[Message]:
    async with core.reading() as session:
        return list(
            (await session.execute(select(Message).where(Message.source == f"campaign:{campaign_id}"))).scalars()
        )


async def assignments(core: Core, campaign_id: int) -> dict[Any, CampaignMember]:
    async with core.reading() as session:
        return {
            a.member_id: a
            for a in (
                await session.execute(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
            ).scalars()
        }


async def test_one_message_per_member_control_gets_nothing_and_a_rerun_adds_nothing(core: Core) -> None:
    ids = [await member(core, i, consents=("sms",), first_name=f"Имя{i}") for i in range(60)]
    tg = await member(core, 100, consents=("telegram", "sms"), telegram_user_id=777, language="en", first_name="Ann")
    silent = await member(core, 101, consents=())
    campaign_id = await campaign(core, await segment(core))
    assert await expand_campaign(core, campaign_id, batch_size=7) > 0
    sent = await campaign_messages(core, campaign_id)
    groups = await assignments(core, campaign_id)
    assert len(groups) == 62
    control = {m for m, a in groups.items() if a.variant == CONTROL}
    assert 4 <= len(control) <= 25  # about 20 % of 62
    recipients = Counter(m.member_id for m in sent)
    assert set(recipients) == set(groups) - control - {silent}
    assert max(recipients.values()) == 1
    assert {a.variant for a in groups.values()} == {"A", "B", CONTROL}
    by_member = {m.member_id: m for m in sent}
    # queued with channel, address, time and arm decided; the text is made when a worker sends it
    assert all(
        m.text == "" and m.meta == {"campaign": campaign_id, "variant": groups[m.member_id].variant} for m in sent
    )
    if tg not in control:
        assert by_member[tg].channel == "telegram"
        assert by_member[tg].address == "777"
        assert by_member[tg].cascade == ["sms"]
        assert by_member[tg].language == "en"
    worker = Worker(core, channels())  # type: ignore[arg-type]
    while await worker.run_once():
        pass
    by_member = {m.member_id: m for m in await campaign_messages(core, campaign_id)}
    if tg not in control:
        assert by_member[tg].text.startswith("Ann, you have 100 points")
        assert by_member[tg].status == "delivered"
    for member_id in set(by_member) - {tg}:
        message, arm = by_member[member_id], groups[member_id].variant
        assert message.channel == "sms"
        assert message.promotional
        assert message.cost_parts == 1
        assert message.text.startswith("Б 2") if arm == "B" else message.text.startswith("Имя")
    # the scheduler runs it again, and a replay of the same campaign adds nothing
    assert await run_due_campaigns(core) == []
    assert len(await campaign_messages(core, campaign_id)) == len(sent)
    assert set(await assignments(core, campaign_id)) == set(groups)
    assert ids[0] in groups
    async with core.reading() as session:
        figures = await results(session, campaign_id)
    assert figures["opted_out"] == (0 if silent in control else 1)
    assert figures["control"] == len(control)
    assert sum(c["delivered"] for c in figures["channels"].values()) == len(sent)


async def test_assignment_is_deterministic_and_a_stopped_expansion_resumes(core: Core) -> None:
    for i in range(30):
        await member(core, i)
    segment_id = await segment(core)
    first = await campaign(core, segment_id)
    await expand_campaign(core, first)
    before = {m: a.variant for m, a in (await assignments(core, first)).items()}
    # a second campaign stopped after two batches (as if the worker died), then picked up by the scheduler
    second = await campaign(core, segment_id, name="Weekend again")
    assert await expand_batch(core, second, 10) == 1  # freezes the audience
    assert await expand_batch(core, second, 10) == 10
    async with core.reading() as session:
        half = await progress(session, second)
    assert half["status"] == "sending"
    assert half["expanded"] == 10
    assert half["audience"] == 30
    assert await run_due_campaigns(core) == [second]
    recipients = Counter(m.member_id for m in await campaign_messages(core, second))
    assert max(recipients.values()) == 1
    assert len(recipients) == sum(1 for a in (await assignments(core, second)).values() if a.variant != CONTROL)
    # the same member lands in the same arm when the campaign is expanded again from scratch
    assert {m: a.variant for m, a in (await assignments(core, first)).items()} == before


async def test_quiet_hours_and_the_promotional_cap(core: Core) -> None:
    core.clock.at = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
    night = await member(core, 1)
    vlad = await member(core, 2, time_zone="Asia/Vladivostok")  # 06:30 there, next day
    capped = await member(core, 3, consents=("sms", "viber"))
    async with core.transaction() as session:
        for n in range(2):
            session.add(
                Message(
                    **{
                        "source": f"other:{n}",
                        "recipient": str(capped),
                        "member_id": capped,
                        "channel": "sms",
                        "kind": "campaign",
                        "promotional": True,
                        "address": "+79160000003",
                        "language": "ru",
                        "subject": None,
                        "text": "x",
                        "html": None,
                        "meta": {},
                        "cascade": [],
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": core.clock.now(),
                        "cost_parts": 1,
                        "created_at": core.clock.now(),
                    }
                )
            )
    texts = {"sms": TEXTS["sms"], "viber": TEXTS["telegram"]}
    campaign_id = await campaign(
        core,
        await segment(core),
        channels=["sms", "viber"],
        control_percent=0,
        variants=[{"code": "A", "templates": texts}],
    )
    await expand_campaign(core, campaign_id)
    by_member = {m.member_id: m for m in await campaign_messages(core, campaign_id)}
    assert by_member[night].next_attempt_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    assert by_member[vlad].next_attempt_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 09:00 Vladivostok
    assert by_member[capped].channel == "viber"  # two promotional SMS today already


async def test_preview_cost_and_test_send_are_not_counted(core: Core) -> None:
    anna = await member(core, 1, first_name="Анна")
    await member(core, 2)
    long_sms = {"ru": {"text": "Анна, " + "очень выгодное предложение " * 4}}
    campaign_id = await campaign(
        core,
        await segment(core),
        channels=["sms"],
        control_percent=0,
        variants=[{"code": "A", "templates": {"sms": long_sms}}],
    )
    async with core.transaction() as session:
        shown = await preview(session, core.settings, campaign_id, anna, "sms")
        costs = await estimate(session, core.settings, campaign_id)
        await send_test(session, core.settings, campaign_id, "sms", "+79990001122", core.clock.now(), member_id=anna)
    assert shown["sms_parts"] == 2
    assert shown["cost_minor"] == 2 * core.settings.sms.part_cost_minor
    assert costs == {
        "audience": 2,
        "control_percent": 0,
        "sms_recipients_max": 2,
        "sms_parts": 2,
        "cost_minor_max": 4 * core.settings.sms.part_cost_minor,
    }
    worker = Worker(core, channels())  # type: ignore[arg-type]
    await expand_campaign(core, campaign_id)
    while await worker.run_once():
        pass
    async with core.reading() as session:
        test = (await session.execute(select(Message).where(Message.address == "+79990001122"))).scalar_one()
        figures = await results(session, campaign_id)
    assert test.status == "delivered"
    assert test.meta["test"] is True
    assert test.text.startswith("Анна, ")
    assert figures["channels"] == {"sms": {"queued": 0, "sent": 0, "delivered": 2, "failed": 0}}


async def test_attribution_compares_recipients_with_the_control_group(core: Core) -> None:
    ids = [await member(core, i) for i in range(40)]
    campaign_id = await campaign(
        core, await segment(core), control_percent=50, variants=[{"code": "A", "templates": TEXTS}], attribution_days=7
    )
    await expand_campaign(core, campaign_id)
    groups = await assignments(core, campaign_id)
    treated = [m for m in ids if groups[m].variant == "A"]
    control = [m for m in ids if groups[m].variant == CONTROL]
    start = core.clock.now()
    for member_id in treated[:4]:
        await bought(core, member_id, start + timedelta(days=2), 1_500_00, redeemed=100)
    await bought(core, control[0], start + timedelta(days=3), 1_000_00)
    await bought(core, control[1], start + timedelta(days=8), 9_000_00)  # after the window
    await bought(core, treated[5], start - timedelta(days=1), 9_000_00)  # before the campaign
    async with core.reading() as session:
        report = await attribution(session, campaign_id)
    a, ctl = report["groups"]
    assert (a["group"], a["buyers"], a["revenue"], a["redemptions"], a["points_redeemed"]) == ("A", 4, 6_000_00, 4, 400)
    assert (ctl["group"], ctl["buyers"], ctl["revenue"]) == (CONTROL, 1, 1_000_00)
    assert a["lift"] == pytest.approx(100 * 4 / len(treated) - 100 / len(control), abs=0.01)


async def test_bad_campaigns_name_each_field(core: Core) -> None:
    segment_id = await segment(core)
    async with core.transaction() as session:
        with pytest.raises(InvalidInput) as caught:
            await create_campaign(
                session,
                name="",
                segment_id=segment_id + 1,
                channels=["sms", "fax"],
                variants=[{"code": "control", "templates": {}}],
                now=core.clock.now(),
                control_percent=90,
            )
        with pytest.raises(InvalidInput) as typo:
            await create_campaign(
                session,
                name="x",
                segment_id=segment_id,
                channels=["email"],
                now=core.clock.now(),
                variants=[{"code": "A", "templates": {"email": {"ru": {"text": "{{ nmae }}"}}}}],
            )
    assert {e.field for e in caught.value.errors} == {
        "name",
        "segment_id",
        "channels",
        "control_percent",
        "variants[0].code",
    }
    assert {e.field for e in typo.value.errors} == {"variants[0].templates.email.ru"}
    said = " / ".join(e.message for e in typo.value.errors)
    assert "subject" in said
    assert "{{ nmae }} is not a member field" in said
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(CampaignMember))).scalar_one() == 0


async def test_a_stale_snapshot_is_refreshed_when_the_campaign_starts(core: Core) -> None:
    await member(core, 1)
    segment_id = await segment(core)
    core.clock.advance(hours=1)
    newcomer = await member(core, 2)
    campaign_id = await campaign(core, segment_id, control_percent=0)
    await expand_campaign(core, campaign_id)
    assert newcomer in await assignments(core, campaign_id)
    async with core.reading() as session:
        assert (await progress(session, campaign_id))["audience"] == 2
