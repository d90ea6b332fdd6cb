"""A segment definition compiled into one SQL query of member ids (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from shared.db.models import Consent, Member
from shared.segments.definition import SegmentDefinition
from shared.segments.rfm import in_segments, purchase_stats, rfm_scores


def _address(channel: str) -> ColumnElement[bool]:
    if channel == "email":
        return Member.email.is_not(None)
    if channel == "telegram":
        return Member.telegram_user_id.is_not(None)
    return Member.phone.is_not(None)  # sms, viber: every member has a phone


def _reachable(definition: SegmentDefinition) -> ColumnElement[bool]:
    options = []
    for channel in definition.channels:
        condition = _address(channel)
        if definition.consent:
            condition = and_(
                condition,
                exists().where(Consent.member_id == Member.id, Consent.channel == channel, Consent.granted.is_(True)),
            )
        options.append(condition)
    return or_(*options)


def _birthday(low: int, high: int) -> ColumnElement[bool]:
    if low <= high:
        return Member.birth_mmdd.between(low, high)
    return or_(Member.birth_mmdd >= low, Member.birth_mmdd <= high)  # over the new year


def compile_definition(definition: SegmentDefinition, now: datetime, zone: ZoneInfo) -> Select[Any]:
    """SELECT members.id of everyone the definition matches, as of `now`."""
    since = now - timedelta(days=definition.window_days)
    query = select(Member.id)
    where: list[ColumnElement[bool]] = []
    if definition.uses_stats:
        stats = purchase_stats(since).subquery("stats")
        query = query.outerjoin(stats, stats.c.member_id == Member.id)
        spend, count = func.coalesce(stats.c.spend, 0), func.coalesce(stats.c.purchases, 0)
        for value, bound, op in (
            (spend, definition.spend_min, "ge"),
            (spend, definition.spend_max, "le"),
            (count, definition.purchases_min, "ge"),
            (count, definition.purchases_max, "le"),
        ):
            if bound is not None:
                where.append(value >= bound if op == "ge" else value <= bound)
    if definition.uses_rfm:
        scores = rfm_scores(since).subquery("rfm")
        query = query.join(scores, scores.c.member_id == Member.id)
        if definition.rfm_segments:
            where.append(in_segments(scores.c.r, scores.c.f, definition.rfm_segments))
        for column, wanted in (
            (scores.c.r, definition.r_scores),
            (scores.c.f, definition.f_scores),
            (scores.c.m, definition.m_scores),
        ):
            if wanted:
                where.append(column.in_(wanted))
    if definition.tiers:
        where.append(Member.tier_code.in_(definition.tiers))
    if definition.last_purchase_days_min is not None:  # bought at least N days ago, or never
        cutoff = now - timedelta(days=definition.last_purchase_days_min)
        where.append(or_(Member.last_purchase_at.is_(None), Member.last_purchase_at <= cutoff))
    if definition.last_purchase_days_max is not None:
        where.append(Member.last_purchase_at >= now - timedelta(days=definition.last_purchase_days_max))
    if definition.birthday_from is not None and definition.birthday_to is not None:
        where.append(_birthday(definition.birthday_from, definition.birthday_to))
    if definition.registration_channels:
        where.append(Member.source.in_(definition.registration_channels))
    if definition.registration_sources:
        where.append(Member.referral.in_(definition.registration_sources))
    if definition.registered_from is not None:
        where.append(Member.created_at >= datetime.combine(definition.registered_from, time(), zone))
    if definition.registered_to is not None:
        where.append(Member.created_at < datetime.combine(definition.registered_to + timedelta(days=1), time(), zone))
    if definition.channels:
        where.append(_reachable(definition))
    return query.where(*where)
