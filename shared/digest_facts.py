"""What a member's monthly digest says, for a whole batch of members at once: balance, the points
burning within the program's "expiring soon" horizon, the way to the next tier and the top
recommended categories. The same figures the cabinet shows (shared/balance.py), in bulk queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import ledger
from shared.balance import tier_view
from shared.db.models import Lot, Purchase
from shared.offers import recommendations_of
from shared.program import ProgramRules


@dataclass(frozen=True)
class DigestFacts:
    balance: int  # points available now
    pending: int
    expiring: int  # available points burning within rules.expiring_soon_days
    expires_at: datetime | None  # when the first of them burns
    tier: dict[str, Any]  # shared.balance.tier_view: the tier and the spend still needed for the next one
    categories: list[str]  # recommended categories, best first


async def digest_facts(
    session: AsyncSession,
    rules: ProgramRules,
    members: Sequence[Any],
    now: datetime,
    *,
    languages: dict[uuid.UUID, str],
    recommendations: int,
) -> dict[uuid.UUID, DigestFacts]:
    """members: rows with id, available, pending and tier_code; three queries whatever their number."""
    ids = [m.id for m in members]
    if not ids:
        return {}
    horizon = now + timedelta(days=rules.expiring_soon_days)
    expiring = {
        member_id: (int(points), first)
        for member_id, points, first in await session.execute(
            select(Lot.member_id, func.sum(Lot.remaining), func.min(Lot.expires_at))
            .where(
                Lot.member_id.in_(ids),
                Lot.status == ledger.AVAILABLE,
                Lot.remaining > 0,
                Lot.expires_at <= horizon,
            )
            .group_by(Lot.member_id)
        )
    }
    spend = {
        member_id: int(total or 0)
        for member_id, total in await session.execute(
            select(Purchase.member_id, func.sum(Purchase.paid - Purchase.refunded_paid))
            .where(
                Purchase.member_id.in_(ids),
                Purchase.purchased_at > now - timedelta(days=rules.tier_window_days),
                Purchase.purchased_at <= now,
            )
            .group_by(Purchase.member_id)
        )
    }
    recommended = await recommendations_of(session, ids, "category", recommendations) if recommendations else {}
    out = {}
    for m in members:
        points, first = expiring.get(m.id, (0, None))
        out[m.id] = DigestFacts(
            balance=m.available,
            pending=m.pending,
            expiring=points,
            expires_at=first,
            tier=tier_view(rules, m.tier_code, spend.get(m.id, 0), languages.get(m.id, rules.language)),
            categories=[r.item for r in recommended.get(m.id, [])],
        )
    return out
