"""Personal offers: item-to-item and category associations from baskets, and each member's
recommendations drawn from them (shared/offers/recommend.py recomputes both nightly)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Double, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import UTCDateTime


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
