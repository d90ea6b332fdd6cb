"""Personal offers: item-to-item and category associations from baskets, and each member's
recommendations drawn from them (shared/offers/recommend.py recomputes both nightly)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Double, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK, UTCDateTime


class Association(Base):
    """Baskets holding `antecedent` also hold `consequent`: counts over the last N days and the
    figures from them (support = pair/baskets, confidence = pair/antecedent, lift = confidence/(consequent/baskets))."""

    __tablename__ = "recommend_associations"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "sku" or "category"
    antecedent: Mapped[str] = mapped_column(String(64), primary_key=True)
    consequent: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str | None] = mapped_column(String(64))  # the consequent's category
    pair_baskets: Mapped[int] = mapped_column(BigInteger)
    antecedent_baskets: Mapped[int] = mapped_column(BigInteger)
    consequent_baskets: Mapped[int] = mapped_column(BigInteger)
    baskets: Mapped[int] = mapped_column(BigInteger)
    support: Mapped[float] = mapped_column(Double)
    confidence: Mapped[float] = mapped_column(Double)
    lift: Mapped[float] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberRecommendation(Base):
    """What a member's baskets predict they would buy and have not bought lately; rank 1 is the best."""

    __tablename__ = "member_recommendations"
    __table_args__ = (Index("ix_member_recommendations_kind_item", "kind", "item"),)

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str | None] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonalOffer(Base):
    """One member's own item under a "personal" promotion: a SKU or category (their top
    recommendation when issued) whose points are boosted from valid_from until valid_to.

    `held`: the member is in a campaign's control group; the offer is never priced or shown, only
    watched (redeemed_at, receipts, revenue) so the campaign's results compare like with like.
    `redeemed_at`/`purchase_id` are the first receipt holding the item within the window;
    `receipts` and `revenue` (line amounts after discounts, kopecks) add up every such receipt."""

    __tablename__ = "personal_offers"
    __table_args__ = (
        UniqueConstraint("member_id", "promotion_id", name="uq_personal_offers_member_promotion"),
        Index("ix_personal_offers_promotion_campaign", "promotion_id", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("members.id", ondelete="CASCADE"))
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)  # issued by this campaign's sending
    kind: Mapped[str] = mapped_column(String(8))  # "sku" or "category"
    item: Mapped[str] = mapped_column(String(64))
    multiplier: Mapped[int] = mapped_column(Integer, default=0)
    extra_percent: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the first receipt that held the item
    receipts: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
