"""Coalition partners: who they are, what they agreed (shared/partners.py), and the settlements
closed with them (shared/settlement.py). Stores, API keys and staff accounts point at a partner;
none of them (the retailer's own) is the program's own side."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class PartnerAgreement(Base):
    """The earn rate at the partner's stores, and money per point in kopecks: what the partner pays the
    program for each point issued at its stores, and what the program pays back for each point spent
    there. [valid_from, valid_to) in UTC (whole local days of the program's zone); never overlapping."""

    __tablename__ = "partner_agreements"
    __table_args__ = (Index("ix_partner_agreements_partner_valid", "partner_id", "valid_from"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    issue_price: Mapped[int] = mapped_column(Integer)  # kopecks the partner pays per point issued
    redeem_price: Mapped[int] = mapped_column(Integer)  # kopecks the program pays per point spent
    # The earn rate at the partner's stores in whole percent, as the program's tiers give it (the birthday
    # treatment still raises it); None: the member's tier rate, as at the retailer's own stores.
    earn_percent: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(254))


class SettlementPeriod(Base):
    """A closed month (YYYY-MM in the program's zone): its lines are frozen from then on."""

    __tablename__ = "settlement_periods"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime]
    closed_by: Mapped[str] = mapped_column(String(254))


class SettlementLine(Base):
    """The frozen figures of a closed period for one partner (NULL: the program's own stores and
    points earned nowhere in particular) under one agreement. `origin` names the closed period whose
    late entries (a refund booked after it closed) this line carries; NULL for the period's own."""

    __tablename__ = "settlement_lines"
    __table_args__ = (Index("ix_settlement_lines_origin", "origin"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(ForeignKey("settlement_periods.period"), index=True)
    origin: Mapped[str | None] = mapped_column(String(7))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("partner_agreements.id"))
    issued: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger)
    expired: Mapped[int] = mapped_column(BigInteger)
    reversed: Mapped[int] = mapped_column(BigInteger)
    restored: Mapped[int] = mapped_column(BigInteger)
    other: Mapped[int] = mapped_column(BigInteger)
