"""Support tools: find a member, adjust points with a reason, merge a duplicate into a member.

Every change goes through the ledger under the member lock, writes its outbox event, and is audited,
all in the caller's one transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit, ledger
from shared.cards import is_valid_ean13
from shared.clock import Clock
from shared.db.models import Consent, Entry, Lot, Member, OutboxEvent, Purchase, SegmentMember
from shared.db.models.promotions import BonusGrantMember, PromoCodeUse, PromotionUse
from shared.errors import Conflict, FieldErrors, InvalidInput
from shared.events import EventKind, emit
from shared.inputs import CONTROL_MESSAGE, has_control
from shared.members import mark_updated
from shared.phones import normalize_phone
from shared.program import ProgramRules

MAX_ADJUSTMENT = 1_000_000
PROFILE_FIELDS = ("first_name", "last_name", "email", "email_confirmed_at", "birth_date", "birth_mmdd", "time_zone")


async def find_members(session: AsyncSession, rules: ProgramRules, query: str, limit: int = 20) -> list[Member]:
    """By phone, card number or e-mail exactly, else by the start of a last name."""
    text = query.strip()
    if not text:
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) == 13 and is_valid_ean13(digits):
        where: Any = Member.card_number == digits
    elif "@" in text:
        where = Member.email == text.lower()
    elif len(digits) >= 10 and len(digits) >= len(text) // 2:
        try:
            where = Member.phone == normalize_phone(text, rules.phone_region)
        except InvalidInput:
            return []
    else:
        prefix = text[:100].replace("%", "").replace("_", "")
        where = or_(Member.last_name.startswith(prefix), Member.last_name.startswith(prefix.capitalize()))
    stmt = select(Member).where(where).order_by(Member.created_at).limit(limit)
    return list((await session.execute(stmt)).scalars())


def member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "phone": member.phone,
        "card_number": member.card_number,
        "available": member.available,
        "pending": member.pending,
        "debt": member.debt,
        "tier": member.tier_code,
    }


async def adjust_points(
    session: AsyncSession,
    clock: Clock,
    rules: ProgramRules,
    member_id: uuid.UUID,
    points: int,
    reason: str,
    *,
    actor: str,
    request_id: str,
) -> Member:
    """Credit (a new available lot) or debit (soonest-expiring first) points; a repeated request_id
    (a double-submitted form) changes nothing the second time."""
    reason = reason.strip()
    problems = FieldErrors()
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        problems.add("points", f"a non-zero whole number up to ±{MAX_ADJUSTMENT}")
    if not 3 <= len(reason) <= 300:
        problems.add("reason", "say why, in 3 to 300 characters")
    elif has_control(reason, multiline=True):
        problems.add("reason", CONTROL_MESSAGE)
    if not 8 <= len(request_id) <= 64 or has_control(request_id):
        problems.add("request_id", "missing")
    problems.raise_if_any("The adjustment was not made.")
    member = await ledger.lock_member(session, member_id)
    key = f"adjust:{request_id}"
    if (await session.execute(select(OutboxEvent.id).where(OutboxEvent.dedup_key == key))).first():
        return member
    before = member_snapshot(member)
    now = clock.now()
    if points > 0:
        ledger.add_lot(
            session,
            member,
            kind="adjustment",
            source="support",
            points=points,
            now=now,
            available_at=now,
            expires_at=now + timedelta(days=rules.expiry_days),
            comment=reason,
        )
    else:
        await ledger.spend(session, member, -points, now, kind="adjustment", comment=reason)
    member.updated_at = now
    await emit(
        session,
        EventKind.POINTS_ADJUSTED,
        member.id,
        {"points": points, "balance": member.available, "reason": reason},
        now,
        dedup_key=key,
    )
    audit.record(
        session,
        clock,
        actor,
        "member.adjust",
        ("member", str(member.id)),
        before=before,
        after=member_snapshot(member),
        reason=reason,
    )
    return member


async def merge_members(
    session: AsyncSession,
    clock: Clock,
    rules: ProgramRules,
    duplicate_id: uuid.UUID,
    keep_id: uuid.UUID,
    *,
    actor: str,
    reason: str,
) -> Member:
    """Move the duplicate's lots, entries, purchases and consents onto the member kept, then delete
    the duplicate. Balances add up exactly; both members are locked (in a fixed order)."""
    if duplicate_id == keep_id:
        raise InvalidInput("A member cannot be merged into themselves.")
    first, second = sorted((duplicate_id, keep_id), key=str)
    locked = {first: await ledger.lock_member(session, first), second: await ledger.lock_member(session, second)}
    duplicate, keep = locked[duplicate_id], locked[keep_id]
    before = {"kept": member_snapshot(keep), "duplicate": member_snapshot(duplicate)}
    now = clock.now()
    # Promotion and code uses move too, so per-member limits count the person, not the card.
    for table in (Lot, Entry, Purchase, PromotionUse, PromoCodeUse):
        await session.execute(update(table).where(table.member_id == duplicate.id).values(member_id=keep.id))
    await _merge_grants(session, duplicate.id, keep.id)
    await _merge_consents(session, duplicate.id, keep.id)
    moved = duplicate.available + duplicate.pending
    keep.available += duplicate.available
    keep.pending += duplicate.pending
    keep.debt += duplicate.debt
    if rules.tier_rank(duplicate.tier_code) > rules.tier_rank(keep.tier_code):
        keep.tier_code, keep.tier_changed_at = duplicate.tier_code, now
    if duplicate.last_purchase_at and (
        keep.last_purchase_at is None or duplicate.last_purchase_at > keep.last_purchase_at
    ):
        keep.last_purchase_at = duplicate.last_purchase_at
    for name in PROFILE_FIELDS:
        if getattr(keep, name) is None and getattr(duplicate, name) is not None:
            setattr(keep, name, getattr(duplicate, name))
    telegram = duplicate.telegram_user_id
    duplicate.telegram_user_id = None
    await session.flush()
    if keep.telegram_user_id is None and telegram is not None:
        keep.telegram_user_id = telegram
    keep.updated_at = now
    # segment snapshots carry no foreign key (they are written in bulk): the duplicate leaves them here
    await session.execute(delete(SegmentMember).where(SegmentMember.member_id == duplicate.id))
    await session.execute(delete(Member).where(Member.id == duplicate.id))
    session.expunge(duplicate)
    await _check_ledger(session, keep)
    await emit(
        session,
        EventKind.POINTS_ADJUSTED,
        keep.id,
        {"points": moved, "balance": keep.available, "reason": "merge"},
        now,
    )
    await mark_updated(session, keep, ["merged"], now, merged_from=str(duplicate_id))
    audit.record(
        session,
        clock,
        actor,
        "member.merge",
        ("member", str(keep.id)),
        before=before,
        after={"kept": member_snapshot(keep), "deleted": str(duplicate_id)},
        reason=reason.strip() or None,
    )
    return keep


async def _merge_consents(session: AsyncSession, duplicate_id: uuid.UUID, keep_id: uuid.UUID) -> None:
    """Per channel the most recently expressed choice wins, with its own proof."""
    rows = (await session.execute(select(Consent).where(Consent.member_id.in_((duplicate_id, keep_id))))).scalars()
    by_channel: dict[str, list[Consent]] = {}
    for consent in rows:
        by_channel.setdefault(consent.channel, []).append(consent)
    for consents in by_channel.values():
        winner = max(consents, key=lambda c: (c.changed_at, c.member_id == keep_id))
        for consent in consents:
            if consent is not winner:
                await session.delete(consent)
        await session.flush()
        winner.member_id = keep_id
    await session.flush()


async def _merge_grants(session: AsyncSession, duplicate_id: uuid.UUID, keep_id: uuid.UUID) -> None:
    """A grant both had stays recorded once (on the member kept); the duplicate's others move across."""
    kept_grants = select(BonusGrantMember.grant_id).where(BonusGrantMember.member_id == keep_id).scalar_subquery()
    await session.execute(
        delete(BonusGrantMember).where(
            BonusGrantMember.member_id == duplicate_id, BonusGrantMember.grant_id.in_(kept_grants)
        )
    )
    await session.execute(
        update(BonusGrantMember).where(BonusGrantMember.member_id == duplicate_id).values(member_id=keep_id)
    )


async def _check_ledger(session: AsyncSession, member: Member) -> None:
    """The ledger invariant, checked before commit: a merge that would break it is rolled back."""
    await session.flush()
    total = (
        await session.execute(select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member.id))
    ).scalar_one()
    if int(total) != member.available + member.pending:
        raise Conflict(
            f"Ledger mismatch after merge ({total} != {member.available + member.pending}); nothing was changed."
        )
