"""The monthly digest: to members who consented to Telegram or e-mail, held until morning at night,
never to a member who unsubscribed, once a month however often it runs, saying the right figures."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from notifications.campaigns import digest_results, run_digest
from notifications.campaigns.grants import grant_bonus
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import DigestSettings, Settings
from shared.core import Core
from shared.db.models import Member
from shared.db.models.digests import DigestRun
from shared.db.models.messages import DELIVERED, Message
from shared.db.models.offers import MemberRecommendation
from shared.i18n import format_money
from shared.members import set_consent
from tests.conftest import app_client
from tests.integration.marketing.builders import bought, member
from tests.integration.notifications.test_flow import channels
from tests.integration.offers.helpers import give_offer


async def digests(core: Core) -> list[Message]:
    async with core.reading() as session:
        return list(
            (await session.execute(select(Message).where(Message.kind == "digest").order_by(Message.id))).scalars()
        )


async def with_telegram(core: Core, n: int, **fields: object) -> uuid.UUID:
    member_id = await member(core, n, consents=("sms", "telegram"), **fields)
    async with core.transaction() as session:
        await session.execute(update(Member).where(Member.id == member_id).values(telegram_user_id=700_000 + n))
    return member_id


async def test_only_members_with_consent_and_an_address_get_it_by_telegram_and_email(core: Core) -> None:
    telegram = await with_telegram(core, 1)
    emailed = await member(core, 2, consents=("email",), email="two@example.com")
    both = await with_telegram(core, 3, email="three@example.com")
    sms_only = await member(core, 4, consents=("sms",), email="four@example.com")  # e-mail known, not consented
    no_chat = await member(core, 5, consents=("telegram",))  # consented, but never linked the bot

    report = await run_digest(core)

    sent = {(m.member_id, m.channel) for m in await digests(core)}
    assert sent == {(telegram, "telegram"), (emailed, "email"), (both, "telegram")}
    assert report.members == 3
    assert not {sms_only, no_chat} & {m for m, _ in sent}
    mail = next(m for m in await digests(core) if m.channel == "email")
    assert mail.promotional is True
    assert mail.html is not None
    assert "/unsubscribe/" in mail.html  # the one-click link, besides the List-Unsubscribe header


async def test_at_night_it_waits_for_the_morning_in_the_members_zone(core: Core) -> None:
    await with_telegram(core, 1)  # the program's zone: Europe/Moscow, UTC+3
    night = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)  # 23:30 in Moscow

    await run_digest(core, as_of=night)

    (message,) = await digests(core)
    assert message.created_at == night
    assert message.next_attempt_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow


async def test_a_digest_held_for_the_morning_is_not_sent_if_consent_is_withdrawn_meanwhile(
    core: Core, clock: FixedClock
) -> None:
    kept, withdrawn = await with_telegram(core, 1), await with_telegram(core, 2)
    night = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)  # 23:30 in Moscow: held until 09:00
    await run_digest(core, as_of=night)
    async with core.transaction() as session:  # at midnight the second member says "no more" in the bot
        found = await session.get(Member, withdrawn)
        assert found is not None
        await set_consent(session, core.clock, found, "telegram", False, source="bot", method="button")
    clock.at = datetime(2026, 11, 23, 6, 1, tzinfo=UTC)
    scripted = channels()
    worker = Worker(core, scripted)  # type: ignore[arg-type]
    for _ in range(3):
        await worker.run_once()
    assert [m.member_id for m in scripted["telegram"].sent] == [kept]
    status = {m.member_id: (m.status, m.error) for m in await digests(core)}
    assert status[kept][0] == DELIVERED
    assert status[withdrawn] == ("skipped", "consent withdrawn before sending")


async def test_a_member_who_unsubscribed_gets_no_digest_and_the_results_count_it(
    core: Core, settings: Settings
) -> None:
    from webapp.app import create_app

    leaver = await member(core, 1, consents=("email",), email="leaver@example.com")
    stayer = await member(core, 2, consents=("email",), email="stayer@example.com")
    await run_digest(core)
    (link,) = [
        re.search(r'href="http://testserver.local(/unsubscribe/[^"]+)"', m.html or "")
        for m in await digests(core)
        if m.member_id == leaver
    ]
    assert link is not None
    core.clock.advance(hours=1)  # type: ignore[attr-defined]
    async with app_client(create_app(settings, core=core)) as http:  # RFC 8058 one-click POST
        answer = await http.post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200

    await run_digest(core, as_of=core.clock.now() + timedelta(days=14))  # December

    december = [m for m in await digests(core) if m.source == "digest:2026-12"]
    assert [m.member_id for m in december] == [stayer]
    async with core.transaction() as session:
        await session.execute(update(Message).where(Message.source == "digest:2026-11").values(status=DELIVERED))
    async with core.reading() as session:
        december_row, november_row = await digest_results(session)
    assert (november_row["month"], november_row["members"], november_row["delivered"]) == ("2026-11", 2, 2)
    assert november_row["unsubscribed"] == 1
    assert (december_row["month"], december_row["members"], december_row["unsubscribed"]) == ("2026-12", 1, 0)


async def test_once_a_month_however_often_it_runs(core: Core, settings: Settings, clock: FixedClock) -> None:
    for n in range(1, 6):
        await with_telegram(core, n)
    small = Core(settings.model_copy(update={"digest": DigestSettings(batch_size=2)}), clock)
    try:
        first = await run_digest(small)
        again = await run_digest(small)
        assert (first.ran, first.members, first.messages) == (True, 5, 5)
        assert (again.ran, again.members) == (False, 0)
        # even with the month's cursor lost, nobody gets a second one
        async with small.transaction() as session:
            await session.execute(delete(DigestRun))
        assert (await run_digest(small, force=True)).members == 0
        assert len(await digests(small)) == 5
        # the next month is a new digest
        assert (await run_digest(small, as_of=clock.now() + timedelta(days=10))).members == 5
        assert len(await digests(small)) == 10
    finally:
        await small.close()


@pytest.mark.postgres_only
async def test_two_runs_at_once_plan_each_member_once(core: Core, settings: Settings, clock: FixedClock) -> None:
    for n in range(1, 8):
        await member(core, n, consents=("email",), email=f"m{n}@example.com")
    cores = [Core(settings.model_copy(update={"digest": DigestSettings(batch_size=2)}), clock) for _ in range(2)]
    try:
        reports = await asyncio.gather(*(run_digest(c) for c in cores))
    finally:
        for c in cores:
            await c.close()
    assert sum(r.members for r in reports) == 7
    messages = await digests(core)
    assert len(messages) == len({m.member_id for m in messages}) == 7


async def test_not_before_the_digest_day_unless_forced(core: Core, settings: Settings, clock: FixedClock) -> None:
    await with_telegram(core, 1)
    later = Core(settings.model_copy(update={"digest": DigestSettings(day=25)}), clock)  # today is the 22nd
    try:
        assert (await run_digest(later)).ran is False
        assert await digests(later) == []
        assert (await run_digest(later, force=True)).members == 1
    finally:
        await later.close()


async def test_it_says_the_balance_the_points_burning_soon_the_tier_and_recommendations(core: Core) -> None:
    member_id = await with_telegram(core, 1)
    now = core.clock.now()
    async with core.transaction() as session:
        await grant_bonus(session, member_id, 150, now, expires_days=10, reason="soon")
        await grant_bonus(session, member_id, 40, now, expires_days=20, reason="also soon")
        await grant_bonus(session, member_id, 300, now, expires_days=90, reason="later")
        session.add_all(
            MemberRecommendation(
                member_id=member_id, kind="category", item=item, category=item, rank=rank, score=1.0, computed_at=now
            )
            for rank, item in enumerate(["cheese", "wine", "bakery", "tea"], start=1)
        )
    await bought(core, member_id, now - timedelta(days=20), 10_000_00)  # 10 000 of the 30 000 Gold needs
    async with core.reading() as session:
        balance = (await session.get(Member, member_id)).available  # type: ignore[union-attr]

    await run_digest(core)

    (message,) = await digests(core)
    context = message.meta["context"]
    assert balance == 100 + 150 + 40 + 300  # the welcome bonus and the three grants
    assert (context["balance"], context["expiring"], context["expires_on"]) == (balance, 190, "02.12")
    gold = core.rules.next_tier(core.rules.tiers[0].code)
    assert gold is not None
    assert context["next_tier"] == gold.title("ru")
    assert context["spend_needed"] == format_money(20_000_00, "RUB", "ru")
    assert context["recommendations"] == ["cheese", "wine", "bakery"]  # the setting's top 3
    assert context["offers"] == []
    assert "Баланс: 590 баллов." in message.text
    assert "До 02.12 сгорят 190 баллов" in message.text
    assert f"осталось покупок на {context['spend_needed']}" in message.text
    assert "Вам может понравиться: cheese, wine, bakery." in message.text


async def test_it_names_the_members_personal_offers_and_not_others(core: Core) -> None:
    holder, other = await with_telegram(core, 1), await with_telegram(core, 2)
    await give_offer(core, holder, item="coffee")

    await run_digest(core)

    by_member = {m.member_id: m for m in await digests(core)}
    (offer,) = by_member[holder].meta["context"]["offers"]
    assert "coffee" in offer
    assert f"Для вас: {offer}." in by_member[holder].text
    assert by_member[other].meta["context"]["offers"] == []
    assert "Для вас" not in by_member[other].text


async def test_english_members_read_it_in_english(core: Core) -> None:
    await with_telegram(core, 1, language="en", first_name="Ann")

    await run_digest(core)

    (message,) = await digests(core)
    assert message.language == "en"
    assert message.subject is not None
    assert "November 2026" in message.subject
    assert message.text.startswith("Hello, Ann! Your month in")
    assert "Balance: 100 points." in message.text
    assert "expire by" not in message.text  # nothing burns within 30 days
