"""A member with a personal offer, made the way the program makes one: a recommendation, a
personal promotion and issuing."""

from __future__ import annotations

import uuid

from shared.core import Core
from shared.db.models.offers import MemberRecommendation
from shared.offers.personal import issue_offers, member_audience
from shared.promotions.definitions import create_promotion


async def give_offer(core: Core, member_id: uuid.UUID, kind: str = "category", item: str = "coffee") -> int:
    """Issue `member_id` a ×3 offer on `item` for 14 days; returns the promotion's id."""
    now = core.clock.now()
    async with core.transaction() as session:
        session.add(
            MemberRecommendation(
                member_id=member_id, kind=kind, item=item, category=None, rank=1, score=1.0, computed_at=now
            )
        )
        body = {"name": "Для вас ×3", "kind": "personal", "multiplier": 3, "offer_days": 14}
        promotion = await create_promotion(session, core.rules, body, now)
        await issue_offers(session, promotion.id, member_audience(member_id), now)
        return promotion.id
