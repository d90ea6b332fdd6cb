"""Segments as a marketer uses them: count while editing, save, refresh the membership snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Segment, SegmentMember
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.inputs import CONTROL_MESSAGE, has_control
from shared.program import ProgramRules
from shared.segments.definition import SegmentDefinition, validate_definition
from shared.segments.query import compile_definition
from shared.segments.rfm import TITLES, rfm_scores, segment_name_expr


@dataclass(frozen=True)
class SegmentView:
    id: int
    name: str
    definition: dict[str, Any]
    member_count: int
    refreshed_at: datetime | None


def _view(segment: Segment) -> SegmentView:
    return SegmentView(segment.id, segment.name, segment.definition, segment.member_count, segment.refreshed_at)


def parse_definition(rules: ProgramRules, raw: Any) -> SegmentDefinition:
    return validate_definition(raw, tiers=[tier.code for tier in rules.tiers])


async def count_members(session: AsyncSession, rules: ProgramRules, raw: Any, now: datetime) -> int:
    """The live count a builder page shows as filters change."""
    query = compile_definition(parse_definition(rules, raw), now, rules.zone).subquery()
    return int((await session.execute(select(func.count()).select_from(query))).scalar_one())


async def refresh_segment(session: AsyncSession, rules: ProgramRules, segment_id: int, now: datetime) -> int:
    """Replace the snapshot in bulk (DELETE + INSERT ... SELECT) inside the caller's transaction."""
    postgres = session.get_bind().dialect.name == "postgresql"
    segment = await session.get(Segment, segment_id, with_for_update=postgres)
    if segment is None:
        raise NotFound(f"Segment {segment_id} does not exist.")
    query = compile_definition(parse_definition(rules, segment.definition), now, rules.zone)
    if postgres:  # a scan of every member is costed high enough for JIT, which only adds its compile time
        await session.execute(text("SET LOCAL jit = off"))
    await session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    source = select(literal(segment.id).label("segment_id"), query.subquery().c.id)
    await session.execute(insert(SegmentMember).from_select(["segment_id", "member_id"], source))
    segment.member_count = int(
        (
            await session.execute(
                select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == segment.id)
            )
        ).scalar_one()
    )
    if postgres:
        # a snapshot replaced in bulk: fresh statistics keep keyset reads over it (campaign batches)
        # on the index instead of sorting the rest of the snapshot for every batch
        await session.execute(text("ANALYZE segment_members"))
    segment.refreshed_at = now
    return segment.member_count


async def save_segment(
    session: AsyncSession, rules: ProgramRules, name: str, raw: Any, now: datetime, segment_id: int | None = None
) -> SegmentView:
    """Create (or, given an id, update) a segment and refresh its snapshot."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("The segment needs a name.", [FieldError("name", "must be 1 to 200 characters")])
    if has_control(name):
        raise InvalidInput("The segment's name has control characters.", [FieldError("name", CONTROL_MESSAGE)])
    definition = parse_definition(rules, raw).as_json()
    clash = (await session.execute(select(Segment.id).where(Segment.name == name))).scalar_one_or_none()
    if clash is not None and clash != segment_id:
        raise Conflict(f"A segment named {name!r} exists already.", [FieldError("name", "is taken")])
    if segment_id is None:
        segment = Segment(name=name, definition=definition, member_count=0, created_at=now, updated_at=now)
        session.add(segment)
        await session.flush()
    else:
        found = await session.get(Segment, segment_id)
        if found is None:
            raise NotFound(f"Segment {segment_id} does not exist.")
        segment = found
        segment.name, segment.definition, segment.updated_at = name, definition, now
    await refresh_segment(session, rules, segment.id, now)
    return _view(segment)


async def get_segment(session: AsyncSession, segment_id: int) -> SegmentView:
    segment = await session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"Segment {segment_id} does not exist.")
    return _view(segment)


async def list_segments(session: AsyncSession) -> list[SegmentView]:
    return [_view(s) for s in (await session.execute(select(Segment).order_by(Segment.name))).scalars()]


async def stale_segment_ids(session: AsyncSession, now: datetime, max_age: timedelta) -> list[int]:
    return list(
        (
            await session.execute(
                select(Segment.id)
                .where((Segment.refreshed_at.is_(None)) | (Segment.refreshed_at < now - max_age))
                .order_by(Segment.id)
            )
        ).scalars()
    )


async def rfm_distribution(
    session: AsyncSession, rules: ProgramRules, now: datetime, window_days: int = 365, language: str = "ru"
) -> list[dict[str, Any]]:
    """How many members each named RFM segment holds now (for the builder's overview)."""
    scores = rfm_scores(now - timedelta(days=window_days)).subquery()
    name = segment_name_expr(scores.c.r, scores.c.f).label("name")
    counts = dict((await session.execute(select(name, func.count()).group_by(name))).all())
    index = 0 if language == "ru" else 1
    return [
        {"segment": key, "title": titles[index], "members": int(counts.get(key, 0))} for key, titles in TITLES.items()
    ]
