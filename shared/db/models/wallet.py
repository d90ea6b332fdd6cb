"""Devices that registered for a member's pass (PassKit web service)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class WalletRegistration(Base):
    __tablename__ = "wallet_registrations"
    __table_args__ = (UniqueConstraint("device_id", "serial", name="uq_wallet_registrations_device_serial"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(128), index=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    push_token: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class GoogleNotice(Base):
    """Update notifications sent for a member's Google pass: Google allows three per pass per 24 h."""

    __tablename__ = "wallet_google_notices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sent_at: Mapped[datetime]
