"""Program rules edited at run time: validated versions in the database, the newest in force.

Core loads the newest version on start and looks for a newer one every few seconds, so web and
worker processes agree within seconds of a save.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import Clock
from shared.db.models import Member, Purchase
from shared.db.models.console import ProgramVersion
from shared.errors import FieldError, InvalidInput
from shared.program import ProgramRules, rule_problems


def validate_rules(data: dict[str, Any]) -> ProgramRules:
    """The TOML loader's validation, with problems as field errors for a form."""
    try:
        return ProgramRules.model_validate(data)
    except ValidationError as exc:
        errors = [FieldError(where or "rules", message) for where, message in rule_problems(exc)]
        raise InvalidInput("The program rules are not valid.", errors) from exc


def rules_data(rules: ProgramRules) -> dict[str, Any]:
    """Rules as JSON-safe data (decimals as strings), the form a version is stored in."""
    return rules.model_dump(mode="json")


async def newest_version_id(session: AsyncSession) -> int | None:
    value = (await session.execute(select(func.max(ProgramVersion.id)))).scalar_one()
    return int(value) if value is not None else None


async def newest_version(session: AsyncSession) -> ProgramVersion | None:
    stmt = select(ProgramVersion).order_by(ProgramVersion.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_rules(
    session: AsyncSession,
    clock: Clock,
    current: ProgramRules,
    new: ProgramRules,
    *,
    actor: str,
    comment: str | None = None,
) -> ProgramVersion:
    """Store a new version (already validated) and audit what changed."""
    before, after = rules_data(current), rules_data(new)
    version = ProgramVersion(rules=after, created_by=actor, created_at=clock.now(), comment=comment)
    session.add(version)
    await session.flush()
    changed = sorted(key for key in after.keys() | before.keys() if before.get(key) != after.get(key))
    audit.record(
        session,
        clock,
        actor,
        "program.update",
        ("program_version", str(version.id)),
        before={key: before.get(key) for key in changed},
        after={key: after.get(key) for key in changed},
        reason=comment,
    )
    return version


@dataclass(frozen=True)
class TierMoves:
    """How many members the new rules would put in a higher or lower tier than they hold now."""

    up: int
    down: int
    unchanged: int
    by_tier: dict[str, int]


async def preview_tier_moves(session: AsyncSession, new: ProgramRules, as_of: datetime) -> TierMoves:
    """Each member's tier under the new rules from their rolling paid spend, against the tier held.
    (Upgrades happen at the next purchase, downgrades at the next recompute job.)"""
    since = as_of - timedelta(days=new.tier_window_days)
    spend_per_member = (
        select(Purchase.member_id.label("member_id"), func.sum(Purchase.paid - Purchase.refunded_paid).label("spend"))
        .where(Purchase.member_id.is_not(None), Purchase.purchased_at > since, Purchase.purchased_at <= as_of)
        .group_by(Purchase.member_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Member.tier_code, spend_per_member.c.spend, func.count())
            .select_from(Member)
            .outerjoin(spend_per_member, spend_per_member.c.member_id == Member.id)
            .group_by(Member.tier_code, spend_per_member.c.spend)
        )
    ).all()
    up = down = unchanged = 0
    by_tier = {tier.code: 0 for tier in new.tiers}
    for held, spend, count in rows:
        wanted = new.tier_for_spend(int(spend or 0))
        by_tier[wanted.code] += count
        difference = new.tier_rank(wanted.code) - new.tier_rank(held)
        if difference > 0:
            up += count
        elif difference < 0:
            down += count
        else:
            unchanged += count
    return TierMoves(up, down, unchanged, by_tier)
