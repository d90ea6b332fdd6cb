"""Tables behind the marketer console: staff accounts, the audit log and program versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class StaffAccount(Base):
    """A person who runs the program in the console; the password is an argon2 hash."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Moved by sign-out, password, role and active changes: every older console session ends.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The console language this person picked (ru, en); None follows the browser's Accept-Language.
    language: Mapped[str | None] = mapped_column(String(8))
    # The partner a `partner` account works for: it sees that partner's stores and settlements only.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))


class AuditEntry(Base):
    """Append-only: who changed what, when, with the state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(String(500))


class ProgramVersion(Base):
    """A validated set of program rules; the newest one is in force in every process."""

    __tablename__ = "program_versions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    rules: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(String(500))
