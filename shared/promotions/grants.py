"""Bonus grants: points for a segment or a list of members, each lot with its own expiry
(burning bonuses for lapsed customers, welcome bonuses). Once per (grant, member), whatever
retries or restarts: the unique key in bonus_grant_members decides."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import ledger
from shared.clock import Clock
from shared.db.models import Member, Segment, SegmentMember
from shared.db.models.promotions import BonusGrant, BonusGrantMember
from shared.errors import FieldError, FieldErrors, InvalidInput, NotFound
from shared.events import EventKind, emit
from shared.inputs import CONTROL_MESSAGE, has_control, moment_problem, text_problem
from shared.phones import normalize_phone
from shared.program import ProgramRules

if TYPE_CHECKING:
    from shared.core import Core

BATCH = 500
MAX_LIST = 100_000
INVALID = "The bonus grant has invalid fields."


async def grant_bonus(
    session: AsyncSession, rules: ProgramRules, grant: BonusGrant, member_id: uuid.UUID, now: datetime
) -> bool:
    """Credit one member under the grant's key; False when they already had it."""
    member = await ledger.lock_member(session, member_id)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    done = await session.execute(
        insert(BonusGrantMember)
        .values(
            grant_id=grant.id,
            member_id=member.id,
            points=grant.points,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(BonusGrantMember.id)
    )
    if done.scalar_one_or_none() is None:
        return False
    expires_at = grant.expires_at or now + timedelta(days=grant.expires_days or rules.expiry_days)
    await credit_bonus(
        session,
        member,
        grant.points,
        now,
        expires_at,
        source="grant",
        name=grant.name,
        key=f"bonus_grant:{grant.id}:{member.id}",
        extra={"grant_id": grant.id},
    )
    return True


async def credit_bonus(
    session: AsyncSession,
    member: Member,
    points: int,
    now: datetime,
    expires_at: datetime,
    *,
    source: str,
    name: str,
    key: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Points available at once with their own expiry, and the bonus_granted event the member hears and
    the wallet card follows. The member is locked by the caller, who makes it once per `key`."""
    ledger.add_lot(
        session,
        member,
        kind="bonus",
        source=source,
        points=points,
        now=now,
        available_at=now,
        expires_at=expires_at,
        comment=f"bonus: {name}"[:300],
    )
    member.updated_at = now
    await emit(
        session,
        EventKind.BONUS_GRANTED,
        member.id,
        {"points": points, "expires_at": expires_at.isoformat(), "name": name, **(extra or {})},
        now,
        dedup_key=key[:200],
    )


async def _targets(session: AsyncSession, rules: ProgramRules, grant: BonusGrant) -> tuple[list[uuid.UUID], list[str]]:
    if grant.segment_id is not None:
        ids = (
            (
                await session.execute(
                    select(SegmentMember.member_id)
                    .where(SegmentMember.segment_id == grant.segment_id)
                    .order_by(SegmentMember.member_id)
                )
            )
            .scalars()
            .all()
        )
        return list(ids), []
    found: list[uuid.UUID] = []
    skipped: list[str] = []
    for ref in grant.members:
        member_id = await _resolve(session, rules, str(ref))
        if member_id is None:
            skipped.append(str(ref))
        elif member_id not in found:
            found.append(member_id)
    return found, skipped


async def _resolve(session: AsyncSession, rules: ProgramRules, ref: str) -> uuid.UUID | None:
    """A member id, a card number or a phone in any usual form."""
    try:
        return (await session.execute(select(Member.id).where(Member.id == uuid.UUID(ref)))).scalar_one_or_none()
    except ValueError:
        pass
    if ref.isdigit() and len(ref) == 13:
        found = (await session.execute(select(Member.id).where(Member.card_number == ref))).scalar_one_or_none()
        if found is not None:
            return found
    try:
        phone = normalize_phone(ref, rules.phone_region)
    except Exception:  # not a phone: reported as skipped
        return None
    return (await session.execute(select(Member.id).where(Member.phone == phone))).scalar_one_or_none()


async def run_grant(core: Core, clock: Clock, rules: ProgramRules, grant_id: int) -> dict[str, Any]:
    """Grant to the whole audience in batches, one transaction each; running it again after a
    crash or twice at once grants nobody twice and finishes the rest."""
    async with core.reading() as session:
        grant = await session.get(BonusGrant, grant_id)
        if grant is None:
            raise NotFound(f"No bonus grant {grant_id}.")
        if grant.expires_at is not None and grant.expires_at <= clock.now():
            raise InvalidInput(
                "This grant's points would already have burnt.", [FieldError("expires_at", "is in the past")]
            )
        targets, skipped = await _targets(session, rules, grant)
    for start in range(0, len(targets), BATCH):
        async with core.transaction() as session:
            grant = await session.get(BonusGrant, grant_id)
            assert grant is not None
            for member_id in targets[start : start + BATCH]:
                await grant_bonus(session, rules, grant, member_id, clock.now())
            grant.status = "running"
    async with core.transaction() as session:
        grant = await session.get(BonusGrant, grant_id)
        assert grant is not None
        grant.granted = (
            await session.execute(
                select(func.count()).select_from(BonusGrantMember).where(BonusGrantMember.grant_id == grant_id)
            )
        ).scalar_one()
        grant.skipped = skipped
        grant.status = "done"
        grant.finished_at = grant.finished_at or clock.now()
        return grant_view(grant)


def grant_problems(body: dict[str, Any], now: datetime) -> tuple[FieldErrors, datetime | None]:
    """Every problem of a grant body that needs no database (whether the segment exists is checked
    after), and its expires_at."""
    problems = FieldErrors()
    name, points = body.get("name"), body.get("points")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.add("name", "is required: at most 200 characters")
    elif has_control(name):
        problems.add("name", CONTROL_MESSAGE)
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 10**7:
        problems.add("points", "a whole number from 1 to 10000000")
    expires_at, days = None, body.get("expires_days")
    if body.get("expires_at") is not None:
        try:
            expires_at = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
            if moment_problem(expires_at) is not None or expires_at <= now:
                problems.add("expires_at", "a future RFC 3339 time with offset")
        except ValueError:
            problems.add("expires_at", "a future RFC 3339 time with offset")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650):
        problems.add("expires_days", "from 1 to 3650 days")
    segment_id, members = body.get("segment_id"), body.get("members")
    if (segment_id is None) == (members is None):
        problems.add("segment_id", "give either segment_id or members (ids, phones or card numbers)")
    elif segment_id is not None and (
        isinstance(segment_id, bool) or not isinstance(segment_id, int) or not 0 < segment_id < 2**31
    ):
        problems.add("segment_id", "no such segment")
    elif members is not None and (
        not isinstance(members, list)
        or not 0 < len(members) <= MAX_LIST
        or not all(isinstance(m, str) and text_problem(m, 64) is None for m in members)
    ):
        problems.add("members", f"a list of 1 to {MAX_LIST} member ids, phones or card numbers")
    return problems, expires_at


async def create_grant(session: AsyncSession, body: Any, now: datetime) -> BonusGrant:
    """{"name", "points", "expires_at" | "expires_days", "segment_id" | "members": [id|phone|card]}."""
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    problems, expires_at = grant_problems(body, now)
    name, points, days = body.get("name"), body.get("points"), body.get("expires_days")
    segment_id, members = body.get("segment_id"), body.get("members")
    if (
        segment_id is not None
        and members is None
        and not any(p.field == "segment_id" for p in problems.items)
        and await session.get(Segment, segment_id) is None
    ):
        problems.add("segment_id", "no such segment")
    problems.raise_if_any(INVALID)
    grant = BonusGrant(
        name=str(name).strip(),
        points=points,
        expires_at=expires_at,
        expires_days=days,
        segment_id=segment_id,
        members=members or [],
        status="new",
        granted=0,
        skipped=[],
        created_at=now,
        finished_at=None,
    )
    session.add(grant)
    await session.flush()
    return grant


def grant_view(grant: BonusGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "name": grant.name,
        "points": grant.points,
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        "expires_days": grant.expires_days,
        "segment_id": grant.segment_id,
        "members": len(grant.members),
        "status": grant.status,
        "granted": grant.granted,
        "skipped": grant.skipped,
        "created_at": grant.created_at.isoformat(),
        "finished_at": grant.finished_at.isoformat() if grant.finished_at else None,
    }
