"""The balance as members, tills and cards see it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import ledger
from shared.db.models import Lot, Member
from shared.program import ProgramRules


def tier_view(rules: ProgramRules, tier_code: str, spend: int, language: str) -> dict[str, Any]:
    tier = rules.tier(tier_code)
    upcoming = rules.next_tier(tier.code)
    return {
        "code": tier.code,
        "name": tier.title(language),
        "accrual_percent": tier.accrual_percent,
        "next": None
        if upcoming is None
        else {
            "code": upcoming.code,
            "name": upcoming.title(language),
            "spend_needed": max(upcoming.threshold * 100 - spend, 0),
        },
    }


def balance_from_lots(
    rules: ProgramRules, member: Member, lots: list[Lot], spend: int, now: datetime, language: str | None = None
) -> dict[str, Any]:
    """Balance from the member's available lots already in hand (the confirm path avoids a query)."""
    horizon = now + timedelta(days=rules.expiring_soon_days)
    expiring = sorted(
        (lot for lot in lots if lot.status == ledger.AVAILABLE and lot.remaining > 0 and lot.expires_at <= horizon),
        key=lambda lot: lot.expires_at,
    )
    return {
        "available": member.available,
        "pending": member.pending,
        "expiring": [{"points": lot.remaining, "expires_at": lot.expires_at.isoformat()} for lot in expiring],
        "tier": tier_view(rules, member.tier_code, spend, language or rules.language),
    }


async def balance_view(
    session: AsyncSession,
    rules: ProgramRules,
    member: Member,
    now: datetime,
    *,
    spend: int | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """Balance as in API.md: available, pending, lots burning soon, tier and the way to the next."""
    if spend is None:
        spend = await ledger.paid_spend(session, member.id, now, rules.tier_window_days)
    expiring = await ledger.expiring_lots(session, member.id, now, rules.expiring_soon_days)
    return {
        "available": member.available,
        "pending": member.pending,
        "expiring": [{"points": lot.points, "expires_at": lot.expires_at.isoformat()} for lot in expiring],
        "tier": tier_view(rules, member.tier_code, spend, language or rules.language),
    }
