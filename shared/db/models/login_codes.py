"""Tables of the cabinet's login: one-time codes (stored hashed) with their attempt counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class LoginCode(Base):
    """A code sent to a phone; the rows of the last hour are also the per-phone and per-IP counters."""

    __tablename__ = "login_codes"
    __table_args__ = (
        Index("ix_login_codes_phone_created", "phone", "created_at"),
        Index("ix_login_codes_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
