"""Reports about reach: whom the program may write to, per channel."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Consent, Member
from shared.program import ProgramRules
from shared.reports.base import Chart, Period, ReportResult, percent, ratio, report
from shared.vocabulary import CHANNELS

# A consent is only usable with an address to send to; SMS and Viber use the phone every member has.
_ADDRESS = {"email": Member.email.is_not(None), "telegram": Member.telegram_user_id.is_not(None)}


@report
class ContactableShare:
    code = "contactable"
    title = "Contactable share per channel"
    formula = (
        "contactable(channel) = members with consent granted on the channel (and an e-mail address or a "
        "linked Telegram account where the channel needs one) / all members registered by the period end"
    )

    async def compute(self, session: AsyncSession, rules: ProgramRules, period: Period) -> ReportResult:
        registered = Member.created_at < period.end
        total = (await session.execute(select(func.count()).select_from(Member).where(registered))).scalar_one()
        counts, usable_any = [], []
        for channel in CHANNELS:
            usable = and_(Consent.channel == channel, Consent.granted.is_(True), _ADDRESS.get(channel, true()))
            usable_any.append(usable)
            counts.append(
                int(
                    (
                        await session.execute(
                            select(func.count(func.distinct(Member.id)))
                            .select_from(Member)
                            .join(Consent, Consent.member_id == Member.id)
                            .where(registered, usable)
                        )
                    ).scalar_one()
                )
            )
        any_channel = (
            await session.execute(
                select(func.count(func.distinct(Member.id)))
                .select_from(Member)
                .join(Consent, Consent.member_id == Member.id)
                .where(registered, or_(*usable_any))
            )
        ).scalar_one()
        labels = [*CHANNELS, "any"]
        values = [*counts, int(any_channel)]
        shares = [ratio(v, total) for v in values]
        return ReportResult(
            headline=", ".join(f"{label} {percent(share)}" for label, share in zip(labels, shares, strict=True)),
            chart=Chart("bar", labels, [("contactable share", [(s or 0) * 100 for s in shares])], unit="%"),
            columns=["channel", "contactable", "members", "share"],
            rows=[
                [label, value, int(total), round(s, 4) if s is not None else None]
                for label, value, s in zip(labels, values, shares, strict=True)
            ],
            value=shares[-1],
            notes=["Push is counted from consent alone: subscriptions live in the notifier."],
        )
