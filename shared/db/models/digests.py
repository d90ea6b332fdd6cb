"""The monthly digest: one row per month it went out in, so a daily scheduler check is cheap once
the month is done and a run cut short resumes after the last member it reached."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base
from shared.db.types import UTCDateTime


class DigestRun(Base):
    __tablename__ = "digest_runs"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-12", in the program's time zone
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    after_member: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the keyset cursor: members done so far
    members: Mapped[int] = mapped_column(Integer, default=0)  # members with a digest planned this month
    messages: Mapped[int] = mapped_column(Integer, default=0)
