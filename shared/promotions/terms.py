"""A promotion as the pricing engine sees it: immutable, loaded once per process (see catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

DISCOUNT, BUNDLE, ACCRUAL, PERSONAL = "discount", "bundle", "accrual", "personal"
KINDS = (DISCOUNT, BUNDLE, ACCRUAL, PERSONAL)
BOOSTS = (ACCRUAL, PERSONAL)  # kinds that raise points; a personal one reaches the engine per member (offers.personal)


@dataclass(frozen=True)
class Shopper:
    """Who is buying, for targeting: None tier for an anonymous receipt."""

    tier_code: str | None
    segment_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PromotionTerms:
    id: int
    name: str
    kind: str
    priority: int = 0
    combinable: bool = True
    code_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    store_ids: frozenset[str] = frozenset()
    tier_codes: frozenset[str] = frozenset()
    segment_ids: frozenset[int] = frozenset()
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    with_skus: frozenset[str] = frozenset()
    with_categories: frozenset[str] = frozenset()
    min_total: int = 0
    percent: int = 0
    amount: int = 0
    multiplier: int = 0
    extra_percent: int = 0
    points: int = 0
    max_uses: int | None = None
    max_uses_per_member: int | None = None
    offer_days: int = 0

    @property
    def limited(self) -> bool:
        return self.max_uses is not None or self.max_uses_per_member is not None

    @property
    def order(self) -> tuple[int, int]:
        """Higher priority first; the older promotion first among equals."""
        return (-self.priority, self.id)

    def runs_at(self, at: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (self.ends_at is None or at < self.ends_at)

    def targets(self, store_id: str, shopper: Shopper) -> bool:
        if self.store_ids and store_id not in self.store_ids:
            return False
        if (self.tier_codes or self.segment_ids) and shopper.tier_code is None:
            return False
        if self.tier_codes and shopper.tier_code not in self.tier_codes:
            return False
        return not self.segment_ids or bool(self.segment_ids & shopper.segment_ids)

    def covers(self, sku: str, category: str | None) -> bool:
        """Whether a line is one the promotion acts on (no lists: every line)."""
        if not self.skus and not self.categories:
            return True
        return sku in self.skus or (category is not None and category in self.categories)

    def unlocks(self, sku: str, category: str | None) -> bool:
        """Whether a line is a "with" item of a bundle (the coffee of "pastry with a coffee")."""
        return sku in self.with_skus or (category is not None and category in self.with_categories)

    def effect(self) -> str:
        """A short human form of what it does, for explanations: −30%, −500.00, ×2, +5%, +100."""
        if self.kind in (DISCOUNT, BUNDLE):
            return f"-{self.percent}%" if self.percent else f"-{self.amount // 100}.{self.amount % 100:02d}"
        parts = []
        if self.multiplier:
            parts.append(f"x{self.multiplier}")
        if self.extra_percent:
            parts.append(f"+{self.extra_percent}%")
        if self.points:
            parts.append(f"+{self.points}")
        return " ".join(parts)


def terms_of(row: Any) -> PromotionTerms:
    """PromotionTerms from a promotions row (ORM object or Row)."""
    return PromotionTerms(
        id=row.id,
        name=row.name,
        kind=row.kind,
        priority=row.priority,
        combinable=row.combinable,
        code_only=row.code_only,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        store_ids=frozenset(row.store_ids or ()),
        tier_codes=frozenset(row.tier_codes or ()),
        segment_ids=frozenset(int(s) for s in row.segment_ids or ()),
        skus=frozenset(row.skus or ()),
        categories=frozenset(row.categories or ()),
        with_skus=frozenset(row.with_skus or ()),
        with_categories=frozenset(row.with_categories or ()),
        min_total=row.min_total,
        percent=row.percent,
        amount=row.amount,
        multiplier=row.multiplier,
        extra_percent=row.extra_percent,
        points=row.points,
        max_uses=row.max_uses,
        max_uses_per_member=row.max_uses_per_member,
        offer_days=row.offer_days,
    )
