"""Campaigns (a segment, a channel cascade, A/B variants, a control group) and trigger chains
(message -> wait -> bonus), with the per-member rows that make both resumable."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import BigIntPK

DRAFT, SCHEDULED, SENDING, DONE, CANCELLED = "draft", "scheduled", "sending", "done", "cancelled"
CONTROL = "control"


def source_of(campaign_id: int) -> str:
    """The `source` of a campaign's messages (test sends have their own)."""
    return f"campaign:{campaign_id}"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    channels: Mapped[list[Any]]  # the cascade, cheapest first
    control_percent: Mapped[int] = mapped_column(Integer, default=0)
    attribution_days: Mapped[int] = mapped_column(Integer, default=7)
    # a "personal" promotion whose offers the sending issues (the control group's are held)
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"))
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]  # expansion began: the attribution window opens
    finished_at: Mapped[datetime | None]  # every member of the audience has its rows
    audience_count: Mapped[int] = mapped_column(BigInteger, default=0)
    expanded_count: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # keyset: the last member expanded
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CampaignVariant(Base):
    """One A/B arm: its share of the non-control audience and its texts per channel and language."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_campaign_variants_campaign_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    templates: Mapped[dict[str, Any]]  # channel -> language -> {"text", "subject"}


class CampaignMember(Base):
    """Who was in the audience and what they got: a variant (or the control group) and the first
    channel planned (None: no channel reaches them with consent: opted out)."""

    __tablename__ = "campaign_members"

    # no foreign keys: written a million rows at a time (see migration 0014); campaigns are never deleted
    campaign_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    variant: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))


class TriggerChain(Base):
    """ "No purchase for N days -> message -> wait -> bonus if still no purchase", as a list of steps."""

    __tablename__ = "trigger_chains"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    no_purchase_days: Mapped[int] = mapped_column(Integer)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    steps: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ChainProgress(Base):
    """Where one member is in one chain; a step runs in the transaction that advances past it."""

    __tablename__ = "chain_progress"
    __table_args__ = (Index("ix_chain_progress_due", "status", "next_at"),)

    chain_id: Mapped[int] = mapped_column(ForeignKey("trigger_chains.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # active, done, exited
    entered_at: Mapped[datetime]
    next_at: Mapped[datetime]
    updated_at: Mapped[datetime]
