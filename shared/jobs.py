"""Due jobs: activate pending points, burn expired lots, warn before points burn, birthdays, tiers.

Each job looks at state as of a moment, not at what ran before, so running it twice
changes nothing the second time. Work is committed in batches of members.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import ledger
from shared.clock import Clock
from shared.db.models import Lot, Member, Purchase
from shared.events import EventKind, emit
from shared.program import ProgramRules
from shared.purchases import change_tier
from shared.rules import birthday_in_year, member_zone

if TYPE_CHECKING:
    from shared.core import Core

BATCH = 500


@dataclass
class DueReport:
    activated: int = 0
    expired: int = 0
    expiring_notices: int = 0
    birthdays: int = 0
    tier_changes: int = 0
    details: dict[str, Any] = field(default_factory=dict)


async def run_due(core: Core, clock: Clock, rules: ProgramRules | None = None) -> DueReport:
    """Every due job as of `clock`, under `rules` (default: the rules in force, saved versions included)."""
    if rules is None:
        rules = await core.current_rules()
    as_of = clock.now()
    report = DueReport()
    report.activated = await activate_due_lots(core, rules, as_of)
    report.expired = await expire_due_lots(core, as_of)
    report.expiring_notices = await notify_expiring(core, rules, as_of)
    report.birthdays = await open_birthday_windows(core, rules, as_of)
    report.tier_changes = await recompute_tiers(core, rules, as_of)
    return report


async def _members_with_lots(session: AsyncSession, *where: Any) -> list[uuid.UUID]:
    stmt = select(Lot.member_id).where(*where).group_by(Lot.member_id).limit(BATCH)
    return list((await session.execute(stmt)).scalars())


async def activate_due_lots(core: Core, rules: ProgramRules, as_of: datetime) -> int:
    done = 0
    while True:
        async with core.transaction() as session:
            member_ids = await _members_with_lots(session, Lot.status == ledger.PENDING, Lot.available_at <= as_of)
            for member_id in member_ids:
                member = await ledger.lock_member(session, member_id)
                lots = (
                    (
                        await session.execute(
                            select(Lot).where(
                                Lot.member_id == member_id, Lot.status == ledger.PENDING, Lot.available_at <= as_of
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                points = 0
                for lot in lots:
                    points += lot.remaining
                    ledger.activate(member, lot)
                    done += 1
                if points:
                    await emit(
                        session,
                        EventKind.POINTS_AVAILABLE,
                        member_id,
                        {"points": points, "balance": member.available},
                        as_of,
                    )
        if len(member_ids) < BATCH:
            return done


async def expire_due_lots(core: Core, as_of: datetime) -> int:
    done = 0
    while True:
        async with core.transaction() as session:
            member_ids = await _members_with_lots(
                session, Lot.status == ledger.AVAILABLE, Lot.remaining > 0, Lot.expires_at <= as_of
            )
            for member_id in member_ids:
                member = await ledger.lock_member(session, member_id)
                lots = (
                    (
                        await session.execute(
                            select(Lot).where(
                                Lot.member_id == member_id,
                                Lot.status == ledger.AVAILABLE,
                                Lot.remaining > 0,
                                Lot.expires_at <= as_of,
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                burnt = sum(ledger.expire(session, member, lot, as_of) for lot in lots)
                done += len(lots)
                await emit(
                    session, EventKind.POINTS_EXPIRED, member_id, {"points": burnt, "balance": member.available}, as_of
                )
        if len(member_ids) < BATCH:
            return done


async def notify_expiring(core: Core, rules: ProgramRules, as_of: datetime) -> int:
    """One notice per member and set of lots about to burn; the dedup key makes reruns silent."""
    horizon = as_of + timedelta(days=rules.expiring_notice_days)
    sent = 0
    last_id = 0
    while True:
        async with core.transaction() as session:
            rows = (
                await session.execute(
                    select(Lot.id, Lot.member_id, Lot.remaining, Lot.expires_at)
                    .where(
                        Lot.status == ledger.AVAILABLE,
                        Lot.remaining > 0,
                        Lot.expires_at > as_of,
                        Lot.expires_at <= horizon,
                        Lot.id > last_id,
                    )
                    .order_by(Lot.id)
                    .limit(BATCH * 4)
                )
            ).all()
            by_member: dict[uuid.UUID, list[Any]] = defaultdict(list)
            for row in rows:
                by_member[row.member_id].append(row)
            for member_id, lots in by_member.items():
                first = min(lot.expires_at for lot in lots)
                key = "expiring:" + ",".join(str(lot.id) for lot in sorted(lots, key=lambda lot: lot.id))
                await emit(
                    session,
                    EventKind.POINTS_EXPIRING,
                    member_id,
                    {
                        "points": sum(lot.remaining for lot in lots),
                        "expires_at": first.isoformat(),
                        "days": max(1, (first - as_of).days),
                    },
                    as_of,
                    dedup_key=key[:200],
                )
                sent += 1
        if len(rows) < BATCH * 4:
            return sent
        last_id = rows[-1].id


async def open_birthday_windows(core: Core, rules: ProgramRules, as_of: datetime) -> int:
    """Tell members whose birthday window opened today (their time zone) once a year."""
    days_before = rules.birthday.days_before
    candidates = {(as_of + timedelta(days=d)).strftime("%m%d") for d in range(days_before - 1, days_before + 2)}
    mmdd = {int(c) for c in candidates}
    if 228 in mmdd:
        mmdd.add(229)  # born on 29 February: celebrated on the 28th in common years
    opened = 0
    async with core.transaction() as session:
        members = (
            await session.execute(
                select(Member.id, Member.birth_date, Member.time_zone).where(Member.birth_mmdd.in_(mmdd))
            )
        ).all()
        for member_id, birth_date, time_zone in members:
            if birth_date is None:  # birth_mmdd is set only with a birth date
                continue
            today = as_of.astimezone(member_zone(rules, time_zone)).date()
            for year in (today.year, today.year + 1):
                birthday = birthday_in_year(birth_date, year)
                if birthday - timedelta(days=days_before) == today:
                    await emit(
                        session,
                        EventKind.BIRTHDAY,
                        member_id,
                        {"birthday": birthday.isoformat(), "accrual_percent": rules.birthday.accrual_percent},
                        as_of,
                        dedup_key=f"birthday:{member_id}:{birthday.year}",
                    )
                    opened += 1
    return opened


async def recompute_tiers(core: Core, rules: ProgramRules, as_of: datetime) -> int:
    """Set every member's tier from the rolling spend; downgrades happen only here."""
    since = as_of - timedelta(days=rules.tier_window_days)
    lowest = rules.tiers[0].code
    changed = 0
    async with core.reading() as session:
        spend_rows = (
            await session.execute(
                select(Purchase.member_id, func.sum(Purchase.paid - Purchase.refunded_paid))
                .where(Purchase.member_id.is_not(None), Purchase.purchased_at > since, Purchase.purchased_at <= as_of)
                .group_by(Purchase.member_id)
            )
        ).all()
        spend = {member_id: int(total) for member_id, total in spend_rows}
        current = dict(
            (
                await session.execute(
                    select(Member.id, Member.tier_code).where(
                        (Member.tier_code != lowest)
                        | Member.id.in_(
                            select(Purchase.member_id).where(
                                Purchase.purchased_at > since, Purchase.purchased_at <= as_of
                            )
                        )
                    )
                )
            ).all()
        )
    wanted = {member_id: rules.tier_for_spend(spend.get(member_id, 0)).code for member_id in current}
    to_change = [member_id for member_id, code in wanted.items() if current[member_id] != code]
    for start in range(0, len(to_change), BATCH):
        async with core.transaction() as session:
            for member_id in to_change[start : start + BATCH]:
                member = await ledger.lock_member(session, member_id)
                if member.tier_code != wanted[member_id]:
                    await change_tier(session, member, wanted[member_id], as_of, reason="recompute")
                    changed += 1
    return changed
