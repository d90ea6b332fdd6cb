"""Tables of promotions: mechanics, promo codes, gift certificates and bonus grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class Promotion(Base):
    """One mechanic with its validity, targeting, stacking rule and limits.

    kind: "discount" (% or amount off matching lines), "bundle" (% off target lines when the
    receipt holds the `with_` items: "X with Y"), "accrual" (boosted points) or "personal" (boosted
    points on each member's own item: shared.offers.personal). `version` moves on every change so
    tills' caches notice; `uses` counts receipts against `max_uses`."""

    __tablename__ = "promotions"
    __table_args__ = (Index("ix_promotions_active_ends_at", "active", "ends_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    combinable: Mapped[bool] = mapped_column(Boolean, default=True)
    code_only: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    store_ids: Mapped[list[Any]]
    tier_codes: Mapped[list[Any]]
    segment_ids: Mapped[list[Any]]
    skus: Mapped[list[Any]]
    categories: Mapped[list[Any]]
    with_skus: Mapped[list[Any]]
    with_categories: Mapped[list[Any]]
    min_total: Mapped[int] = mapped_column(BigInteger, default=0)
    percent: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    multiplier: Mapped[int] = mapped_column(Integer, default=0)
    extra_percent: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    max_uses: Mapped[int | None] = mapped_column(BigInteger)
    max_uses_per_member: Mapped[int | None] = mapped_column(Integer)
    offer_days: Mapped[int] = mapped_column(Integer, default=0)  # "personal": how long each member's offer lasts
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PromotionUse(Base):
    """A receipt a limited promotion applied to (counted for per-member limits, given back on refund)."""

    __tablename__ = "promotion_uses"
    __table_args__ = (
        UniqueConstraint("promotion_id", "purchase_id", name="uq_promotion_uses_promotion_purchase"),
        Index("ix_promotion_uses_promotion_member", "promotion_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    purchase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class PromoCodeBatch(Base):
    """Codes that unlock one promotion: "unique" (generated, single-use each) or "shared" (one
    seasonal code, `total_limit` uses in all). `per_member_limit` counts over the whole batch."""

    __tablename__ = "promo_code_batches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(BigInteger)
    total_limit: Mapped[int | None] = mapped_column(BigInteger)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class PromoCode(Base):
    __tablename__ = "promo_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("promo_code_batches.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    max_uses: Mapped[int | None] = mapped_column(BigInteger)


class PromoCodeUse(Base):
    __tablename__ = "promo_code_uses"
    __table_args__ = (
        UniqueConstraint("code_id", "purchase_id", name="uq_promo_code_uses_code_purchase"),
        Index("ix_promo_code_uses_batch_member", "batch_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("promo_codes.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    purchase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), index=True)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class GiftCertificate(Base):
    """A numbered prepaid balance in kopecks that pays (part of) receipts."""

    __tablename__ = "gift_certificates"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    initial: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CertificateOperation(Base):
    """Every change of a certificate's balance: issue (+), payment (−), refund (+)."""

    __tablename__ = "certificate_operations"
    __table_args__ = (Index("ix_certificate_operations_purchase_id", "purchase_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("gift_certificates.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    refund_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class BonusGrant(Base):
    """Points for an audience (a segment or a list), each with its own expiry; run once, resumable."""

    __tablename__ = "bonus_grants"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]
    expires_days: Mapped[int | None] = mapped_column(Integer)
    segment_id: Mapped[int | None] = mapped_column(BigInteger)
    members: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(12), default="new")
    granted: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[list[Any]]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class BonusGrantMember(Base):
    __tablename__ = "bonus_grant_members"
    __table_args__ = (UniqueConstraint("grant_id", "member_id", name="uq_bonus_grant_members_grant_member"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("bonus_grants.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
