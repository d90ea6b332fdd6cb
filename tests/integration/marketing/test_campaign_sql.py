"""The PostgreSQL statement that expands a campaign (notifications.campaigns.sql) against the
member-by-member Python path it replaces there: over members covering every routing case
(consents, missing addresses, dead channels, the promotional cap, time zones at night, languages,
two push subscriptions, the control group and weighted arms), both write the same rows."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from notifications.campaigns import create_campaign, schedule_campaign
from notifications.campaigns.expansion import expand_campaign
from shared.core import Core
from shared.db.models import Member
from shared.db.models.campaigns import SENDING, Campaign, CampaignMember
from shared.db.models.messages import ChannelStatus, Message, PushSubscription
from shared.segments import save_segment
from tests.integration.marketing.builders import member

pytestmark = pytest.mark.postgres_only

CHANNELS = ["telegram", "push", "viber", "sms", "email"]
TEXT = {"ru": {"text": "{{ name }}: {{ balance }}", "subject": "Привет"}, "en": {"text": "{{ name }}", "subject": "Hi"}}
COMPARED = (
    "member_id",
    "recipient",
    "source",
    "channel",
    "kind",
    "promotional",
    "address",
    "language",
    "subject",
    "text",
    "html",
    "meta",
    "cascade",
    "status",
    "attempts",
    "next_attempt_at",
    "cost_parts",
    "created_at",
)


async def audience(core: Core) -> None:
    """One member per combination of the routing facts, with languages and zones drawn at random."""
    rng = random.Random(7)
    now = core.clock.now()
    cases = itertools.product(
        (("sms",), ("telegram", "sms"), ("push", "email"), ("email", "sms"), ("viber",), ()),
        (True, False),  # has a Telegram chat and an e-mail address
        (None, "telegram", "sms"),  # a channel known dead
        (False, True),
    )  # two promotional SMS today already
    for n, (consents, addressed, dead, capped) in enumerate(cases):
        member_id = await member(
            core,
            n,
            consents=consents,
            first_name=rng.choice(["Анна", "Ivan", None]),
            telegram_user_id=5000 + n if addressed else None,
            email=f"m{n}@example.org" if addressed else None,
            time_zone=rng.choice([None, "Asia/Vladivostok", "Europe/Kaliningrad", "Asia/Yekaterinburg"]),
            language=rng.choice(["ru", "en"]),
        )
        async with core.transaction() as session:
            if rng.random() < 0.2:  # a language the texts are not written in
                await session.execute(update(Member).where(Member.id == member_id).values(language="de"))
            if "push" in consents:
                for k in range(2):
                    session.add(
                        PushSubscription(
                            member_id=member_id,
                            endpoint=f"https://push.example/{n}/{k}",
                            p256dh=f"key{n}{k}",
                            auth=f"auth{k}",
                            created_at=now,
                        )
                    )
            if dead is not None:
                session.add(ChannelStatus(member_id=member_id, channel=dead, unreachable_since=now, reason="blocked"))
            for k in range(2 if capped else 0):
                session.add(
                    Message(
                        source=f"earlier:{k}",
                        recipient=str(member_id),
                        member_id=member_id,
                        channel="sms",
                        kind="campaign",
                        promotional=True,
                        address="+7",
                        language="ru",
                        subject=None,
                        text="x",
                        html=None,
                        meta={},
                        cascade=[],
                        status="sent",
                        attempts=1,
                        next_attempt_at=now,
                        cost_parts=1,
                        created_at=now - timedelta(hours=2),
                    )
                )


async def written(core: Core, campaign_id: int) -> tuple[list[dict[str, Any]], dict[Any, tuple[str, str | None]]]:
    async with core.reading() as session:
        messages = (
            (
                await session.execute(
                    select(Message).where(Message.source == f"campaign:{campaign_id}").order_by(Message.member_id)
                )
            )
            .scalars()
            .all()
        )
        assigned = {
            a.member_id: (a.variant, a.channel)
            for a in (
                await session.execute(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
            ).scalars()
        }
    rows = []
    for message in messages:
        row = {name: getattr(message, name) for name in COMPARED}
        if message.channel == "push":  # the same subscription JSON, whoever wrote the text
            row["address"] = json.loads(row["address"])
        rows.append(row)
    return rows, assigned


async def test_the_statement_writes_what_the_python_path_writes(core: Core) -> None:
    core.clock.at = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)  # 22:30 in Moscow: most zones are at night
    await audience(core)
    async with core.transaction() as session:
        segment = await save_segment(session, core.rules, "Everyone", {}, core.clock.now())
        created = await create_campaign(
            session,
            name="Parity",
            segment_id=segment.id,
            channels=CHANNELS,
            control_percent=25,
            variants=[
                {"code": "A", "weight": 1, "templates": dict.fromkeys(CHANNELS, TEXT)},
                {"code": "B", "weight": 2, "templates": dict.fromkeys(CHANNELS, TEXT)},
            ],
            now=core.clock.now(),
        )
        await schedule_campaign(session, created.id, core.clock.now(), core.clock.now())
    assert await expand_campaign(core, created.id, 7, in_sql=False) > 0
    by_python = await written(core, created.id)
    async with core.transaction() as session:  # the same campaign once more, from the start
        await session.execute(delete(Message).where(Message.source == f"campaign:{created.id}"))
        await session.execute(delete(CampaignMember).where(CampaignMember.campaign_id == created.id))
        await session.execute(
            update(Campaign).where(Campaign.id == created.id).values(status=SENDING, cursor=None, expanded_count=0)
        )
    assert await expand_campaign(core, created.id, 7, in_sql=True) > 0
    by_sql = await written(core, created.id)

    assert by_sql[1] == by_python[1]
    assert len(by_sql[1]) == 6 * 2 * 3 * 2
    assert by_sql[0] == by_python[0]
    variants = {variant for variant, _ in by_sql[1].values()}
    channels = {message["channel"] for message in by_sql[0]}
    languages = {message["language"] for message in by_sql[0]}
    times = {message["next_attempt_at"] for message in by_sql[0]}
    assert variants == {"A", "B", "control"}
    assert channels == set(CHANNELS)
    assert languages == {"ru", "en"}
    assert len(times) >= 3  # deferred to 09:00 in several zones
    assert any(channel is None and variant != "control" for variant, channel in by_sql[1].values())  # opted out
