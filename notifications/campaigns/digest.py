"""The monthly digest: balance, points burning soon, the way to the next tier and recommended
categories, by Telegram and e-mail to every member who consented to either.

A trigger like the chains: members are taken in keyset batches, routed by the "digest" policy
(consent, quiet hours, the promotional cap; e-mail beside Telegram) and planned through
planner.message_row under the source "digest:<month>", so a member gets one digest a month however
often it runs. A digest_runs row per month keeps the cursor: a run cut short resumes after the last
member it reached, and once the month is done the daily scheduler check costs one lookup.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.bulk_insert import insert_ignoring_conflicts
from notifications.campaigns.audience import MEMBER_FIELDS, member_fields, member_language, recipients_of
from notifications.campaigns.results import BUCKETS
from notifications.planner import insert_messages, message_row
from notifications.recipients import local_day
from notifications.routing import POLICIES, Recipient, cascade_for, plan_messages
from notifications.templates import TextRefused
from notifications.unsubscribe_links import UNSUBSCRIBE_SOURCE, unsubscribe_url
from shared.config import Settings
from shared.core import Core
from shared.db.models import Consent, Member
from shared.db.models.digests import DigestRun
from shared.db.models.messages import Message
from shared.digest_facts import DigestFacts, digest_facts
from shared.i18n import format_money
from shared.offers.personal import OfferView, current_offers, offer_text
from shared.program import ProgramRules

log = logging.getLogger("loyalty.campaigns")
KIND = "digest"


def digest_source(month: str) -> str:
    """The messages' source: with the recipient and channel, the key that makes a month's digest once."""
    return f"{KIND}:{month}"


def month_of(rules: ProgramRules, moment: datetime) -> str:
    """The month a moment falls in, in the program's time zone ("2026-12")."""
    return f"{moment.astimezone(rules.zone):%Y-%m}"


def digest_channels(settings: Settings) -> tuple[str, ...]:
    """The channels a digest may go by: the policy's cascade, plus e-mail alongside."""
    cascade = cascade_for(KIND, settings.notify)
    return cascade + (("email",) if POLICIES[KIND].email_alongside and "email" not in cascade else ())


@dataclass
class DigestReport:
    month: str
    ran: bool = False  # False: not due yet (before the digest day) or already finished this month
    members: int = 0  # members a digest was planned for in this call
    messages: int = 0


def digest_context(
    settings: Settings,
    rules: ProgramRules,
    member: Any,
    facts: DigestFacts,
    who: Recipient,
    today: date,
    offers: Sequence[OfferView] = (),
) -> dict[str, Any]:
    """What the catalogue's digest texts see: the figures, the member's personal offers valid now
    (each as its sentence, "×2 баллов на категорию «coffee» до 22 декабря") and the recommended categories."""
    context = member_fields(settings, member)
    language = context["language"]
    upcoming = facts.tier["next"]
    return context | {
        "balance": facts.balance,
        "tier": facts.tier["name"],  # the rules in force (a version saved in the console included)
        "percent": facts.tier["accrual_percent"],
        "month": format_date(today, "LLLL yyyy", locale=language),
        "expiring": facts.expiring,
        "expires_on": local_day(facts.expires_at, who.zone, language),
        "next_tier": upcoming["name"] if upcoming else None,
        "spend_needed": format_money(upcoming["spend_needed"], rules.currency, language) if upcoming else None,
        "recommendations": facts.categories,
        "offers": [offer_text(offer, rules, language) for offer in offers],
    }


def _members(settings: Settings, after: uuid.UUID | None, limit: int) -> Any:
    consented = exists().where(
        Consent.member_id == Member.id, Consent.channel.in_(digest_channels(settings)), Consent.granted.is_(True)
    )
    query = select(*MEMBER_FIELDS).where(consented)
    if after is not None:
        query = query.where(Member.id > after)
    return query.order_by(Member.id).limit(limit)


async def _plan_batch(
    session: AsyncSession, settings: Settings, rules: ProgramRules, rows: Sequence[Any], month: str, now: datetime
) -> tuple[int, int]:
    """Digest rows for the members of a batch who have none this month; (members, messages) planned."""
    source = digest_source(month)
    done = set(
        (
            await session.execute(
                select(Message.recipient).where(
                    Message.source == source, Message.recipient.in_([str(r.id) for r in rows])
                )
            )
        ).scalars()
    )
    todo = [r for r in rows if str(r.id) not in done]
    who_all = await recipients_of(session, settings, todo, now, ordered=True)
    languages = {r.id: member_language(settings, r.language) for r in todo}
    facts = await digest_facts(
        session, rules, todo, now, languages=languages, recommendations=settings.digest.recommendations
    )
    offers = await current_offers(session, [r.id for r in todo], now)
    today = now.astimezone(rules.zone).date()
    messages: list[dict[str, Any]] = []
    members = 0
    for row in todo:
        who = who_all[row.id]
        plans = plan_messages(KIND, who, now, settings.notify)
        if not plans:
            continue
        context = digest_context(settings, rules, row, facts[row.id], who, today, offers.get(row.id, []))
        try:
            for plan in plans:
                messages.append(
                    message_row(
                        source=source,
                        recipient=str(row.id),
                        member_id=row.id,
                        kind=KIND,
                        channel=plan.channel,
                        address=plan.address,
                        rest=plan.rest,
                        when=plan.not_before,
                        now=now,
                        context=context
                        | ({"unsubscribe_url": unsubscribe_url(settings, row.id)} if plan.channel == "email" else {}),
                    )
                )
        except TextRefused as exc:  # our own catalogue: a defect, logged; the member is skipped
            log.error("digest %s: the message to %s was refused: %s", month, row.id, exc)
            continue
        members += 1
    await insert_messages(session, messages)
    return members, len(messages)


async def _run_row(session: AsyncSession, month: str) -> DigestRun:
    """The month's row, locked on PostgreSQL: two runs at once take turns batch by batch."""
    query = select(DigestRun).where(DigestRun.month == month)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


async def run_digest(core: Core, *, as_of: datetime | None = None, force: bool = False) -> DigestReport:
    """This month's digest to every consenting member who has none yet. Due from the configured day
    of the month (program time zone) unless forced; once the month is finished, a call does nothing."""
    now = as_of or core.clock.now()
    settings = core.settings
    rules = await core.current_rules()
    local = now.astimezone(rules.zone)
    month = month_of(rules, now)
    report = DigestReport(month)
    if not force and local.day < settings.digest.day:
        return report
    async with core.transaction() as session:
        await insert_ignoring_conflicts(
            session,
            DigestRun.__table__,
            [
                {
                    "month": month,
                    "started_at": now,
                    "finished_at": None,
                    "after_member": None,
                    "members": 0,
                    "messages": 0,
                }
            ],
            ("month",),
        )
    while True:
        async with core.transaction() as session:
            run = await _run_row(session, month)
            if run.finished_at is not None:
                return report
            report.ran = True
            rows = (await session.execute(_members(settings, run.after_member, settings.digest.batch_size))).all()
            if not rows:
                run.finished_at = now
                log.info("digest %s: %s members, %s messages", month, run.members, run.messages)
                return report
            members, messages = await _plan_batch(session, settings, rules, rows, month, now)
            run.after_member = rows[-1].id
            run.members += members
            run.messages += messages
            report.members += members
            report.messages += messages


async def digest_results(session: AsyncSession, months: int = 12) -> list[dict[str, Any]]:
    """Per month, newest first: members reached, messages per channel and state, and members who
    unsubscribed from e-mail through a link after their digest was created. Opens and clicks are
    not tracked."""
    runs = (await session.execute(select(DigestRun).order_by(DigestRun.month.desc()).limit(months))).scalars()
    out = []
    for run in runs:
        source = digest_source(run.month)
        channels: dict[str, dict[str, int]] = {}
        for channel, status, count in await session.execute(
            select(Message.channel, Message.status, func.count())
            .where(Message.source == source)
            .group_by(Message.channel, Message.status)
        ):
            figures = channels.setdefault(channel, {"queued": 0, "sent": 0, "delivered": 0, "failed": 0})
            figures[BUCKETS.get(status, "failed")] += int(count)
        unsubscribed = (
            await session.execute(
                select(func.count(distinct(Consent.member_id))).where(
                    exists().where(
                        and_(
                            Message.source == source,
                            Message.channel == "email",
                            Message.member_id == Consent.member_id,
                            Consent.changed_at >= Message.created_at,
                        )
                    ),
                    Consent.channel == "email",
                    Consent.granted.is_(False),
                    Consent.source == UNSUBSCRIBE_SOURCE,
                )
            )
        ).scalar_one()
        out.append(
            {
                "month": run.month,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "members": run.members,
                "messages": run.messages,
                "channels": channels,
                "sent": sum(f["sent"] + f["delivered"] for f in channels.values()),
                "delivered": sum(f["delivered"] for f in channels.values()),
                "unsubscribed": int(unsubscribed),
            }
        )
    return out


__all__ = ["DigestReport", "digest_channels", "digest_context", "digest_results", "digest_source", "run_digest"]
