"""Tables of the core. Points and money are integers; times are aware UTC."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)  # None: our own


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (  # support's search (shared/support.find_members) by e-mail and last-name prefix
        Index("ix_members_email", "email"),
        Index("ix_members_last_name", "last_name", postgresql_ops={"last_name": "varchar_pattern_ops"}),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    card_number: Mapped[str] = mapped_column(String(13), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    email_confirmed_at: Mapped[datetime | None]
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_mmdd: Mapped[int | None] = mapped_column(Integer, index=True)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5), default="ru")
    tier_code: Mapped[str] = mapped_column(String(32))
    tier_changed_at: Mapped[datetime | None]
    # Where the member signed up (shared.vocabulary.REGISTRATION_SOURCES; the API's `channel`), the
    # store, and the tag of the link or QR code that brought them (a bot deep link, the API's `source`).
    source: Mapped[str] = mapped_column("registration_channel", String(16))
    registration_store: Mapped[str | None] = mapped_column(String(64))
    referral: Mapped[str | None] = mapped_column("registration_source", String(128))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Running totals kept in step with the ledger in the same transaction; the member row
    # is also the lock that serialises every write to one member's points.
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debt: Mapped[int] = mapped_column(BigInteger, default=0)
    wallet_serial: Mapped[str] = mapped_column(String(64), unique=True)
    wallet_auth_token: Mapped[str] = mapped_column(String(64))
    wallet_updated_at: Mapped[datetime | None]
    last_purchase_at: Mapped[datetime | None]
    # Cabinet sessions carry this number; signing out moves it, so every copy of an old cookie dies.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Consent(Base):
    """Current consent per channel with the proof: when, where and how it was given."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("member_id", "channel"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(64))


class Lot(Base):
    """Points earned together, living together: pending -> available -> spent/expired."""

    __tablename__ = "lots"
    __table_args__ = (
        Index("ix_lots_member_status_expires", "member_id", "status", "expires_at"),
        Index("ix_lots_status_available_at", "status", "available_at"),
        Index("ix_lots_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchases.id"))


class Entry(Base):
    """An immutable ledger line; the sum of a member's entries equals available + pending."""

    __tablename__ = "entries"
    __table_args__ = (Index("ix_entries_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    available_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchases.id"))
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(String(300))


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("store_id", "receipt_id", name="uq_purchases_store_receipt"),
        Index("ix_purchases_member_purchased", "member_id", "purchased_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    store_id: Mapped[str] = mapped_column(String(64))
    receipt_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    purchased_at: Mapped[datetime]
    created_at: Mapped[datetime]
    request_hash: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int] = mapped_column(BigInteger)
    accrued: Mapped[int] = mapped_column(BigInteger)
    accrual_lot_id: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_expires_at: Mapped[datetime | None]
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_restored: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[list[Any]]
    refunded_lines: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any]]


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("purchase_id", "refund_id", name="uq_refunds_purchase_refund"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    purchase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchases.id"))
    refund_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger)
    points_restored: Mapped[int] = mapped_column(BigInteger)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class OutboxEvent(Base):
    """Domain events written in the same transaction as the change they describe."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    payload: Mapped[dict[str, Any]]
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16), default="pos")
    # A partner's till key: it may only price, confirm and refund receipts at that partner's stores.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]  # written at most every few minutes


class Segment(Base):
    """A saved audience. `definition` holds the filters (see the segment builder); membership is
    a snapshot in segment_members, refreshed on save and by a due job, so a till checks a
    promotion's segment with one indexed lookup."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    definition: Mapped[dict[str, Any]]
    member_count: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SegmentMember(Base):
    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_member_id", "member_id"),)

    # no foreign keys: a snapshot is replaced a million rows at a time and per-row checks cost more
    # than the rows (migration 0014); support's merge deletes a merged member's rows itself
    segment_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
