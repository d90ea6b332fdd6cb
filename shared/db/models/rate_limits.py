"""The shared rate-limit counters (shared/ratelimit.py keeps them here unless Redis is configured)."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base


class RateLimitCounter(Base):
    """One counter per key: hits in the window that ends at `resets_at` (epoch seconds on our clock)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[float] = mapped_column(Float)
    resets_at: Mapped[float] = mapped_column(Float, index=True)
