"""The pure pricing engine: discounts, bundles, boosted accrual and their stacking, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.config import Settings
from shared.offers.personal import offer_terms
from shared.promotions.engine import Touches, apply_discounts, boosted_accrual, eligible
from shared.promotions.terms import PromotionTerms, Shopper
from shared.rules import accrual_points

RULES = Settings(secret_key="x" * 40).program
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


@dataclass(frozen=True)
class L:
    sku: str
    category: str | None
    quantity: Decimal
    price: int

    @property
    def amount(self) -> int:
        return int(self.price * self.quantity)


def touches(n: int) -> Touches:
    return Touches([[] for _ in range(n)])


def test_targeting_and_dates_decide_who_gets_what() -> None:
    gold = PromotionTerms(1, "gold", "discount", percent=10, tier_codes=frozenset({"gold"}))
    vip = PromotionTerms(2, "vip", "discount", percent=10, segment_ids=frozenset({7}))
    spb = PromotionTerms(3, "spb", "discount", percent=10, store_ids=frozenset({"spb"}))
    later = PromotionTerms(4, "later", "discount", percent=10, starts_at=NOW + timedelta(seconds=1))
    code = PromotionTerms(5, "code", "discount", percent=10, code_only=True, priority=9)
    every = [gold, vip, spb, later, code]
    assert eligible(every, "msk", NOW, Shopper(None)) == []
    assert eligible(every, "spb", NOW, Shopper("gold", frozenset({7}))) == [gold, vip, spb]
    assert eligible(every, "msk", NOW, Shopper("standard"), unlocked=frozenset({5})) == [code]


def test_bundle_pairs_units_and_floors_kopecks() -> None:
    bundle = PromotionTerms(
        1, "b", "bundle", percent=30, categories=frozenset({"pastry"}), with_categories=frozenset({"coffee"})
    )
    lines = [L("c", "coffee", Decimal("1.5"), 10000), L("p", "pastry", Decimal(3), 999)]
    assert apply_discounts(lines, [bundle], touches(2)) == [0, 299]  # one whole coffee → one pastry


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=8), st.integers(0, 10**6), st.integers(0, 100))
def test_discounts_never_exceed_a_line_and_amounts_add_up(prices: list[int], amount: int, percent: int) -> None:
    lines = [L(f"s{i}", "x", Decimal(1), p) for i, p in enumerate(prices)]
    off = PromotionTerms(1, "amount", "discount", amount=amount, priority=1)
    pct = PromotionTerms(2, "pct", "discount", percent=percent)
    result = touches(len(lines))
    cut = apply_discounts(lines, [off, pct], result)
    assert all(0 <= c <= p for c, p in zip(cut, prices, strict=True))
    first = min(amount, sum(prices))
    assert sum(cut) >= first
    assert result.totals.get(1, {"discount": 0})["discount"] == first


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=6), st.sampled_from([5, 10, 14, 15]))
def test_without_promotions_accrual_is_the_core_rule(paid: list[int], percent: int) -> None:
    lines = [L(f"s{i}", "services" if i % 2 else "food", Decimal(1), p) for i, p in enumerate(paid)]
    assert boosted_accrual(RULES, lines, paid, percent, [], touches(len(lines))) == accrual_points(
        RULES, paid, [line.category for line in lines], percent
    )


def test_boosts_stack_in_priority_order_and_an_exclusive_one_stands_alone() -> None:
    lines = [L("w", "wine", Decimal(1), 100000), L("f", "food", Decimal(1), 100000)]
    double = PromotionTerms(1, "x2", "accrual", multiplier=2, categories=frozenset({"wine"}), priority=5)
    plus = PromotionTerms(2, "+5%", "accrual", extra_percent=5)
    alone = PromotionTerms(3, "alone", "accrual", extra_percent=50, combinable=False, priority=-1)
    result = touches(2)
    total, by_line = boosted_accrual(RULES, lines, [100000, 100000], 10, [double, plus, alone], result)
    assert by_line == [250, 150]
    assert total == 400
    assert result.totals[1]["points"] == 100
    assert result.totals[2]["points"] == 100
    assert 3 not in result.totals


@given(
    st.lists(st.integers(0, 10**7), min_size=1, max_size=6),
    st.sampled_from([5, 10, 14, 15]),
    st.integers(0, 10),
    st.integers(0, 100),
    st.integers(0, 5),
)
def test_a_personal_offer_boosts_only_the_members_item_like_an_accrual_promotion(
    paid: list[int], percent: int, multiplier: int, extra: int, item: int
) -> None:
    lines = [L(f"s{i}", f"c{i % 3}", Decimal(1), p) for i, p in enumerate(paid)]
    base = PromotionTerms(7, "For you", "personal", multiplier=2, offer_days=14)
    personal = offer_terms(base, "category", f"c{item}", multiplier, extra)
    accrual = PromotionTerms(
        7, "For you: c", "accrual", multiplier=multiplier, extra_percent=extra, categories=frozenset({f"c{item}"})
    )
    mine, same = touches(len(lines)), touches(len(lines))
    assert boosted_accrual(RULES, lines, paid, percent, [personal], mine) == boosted_accrual(
        RULES, lines, paid, percent, [accrual], same
    )
    assert apply_discounts(lines, [personal], touches(len(lines))) == [0] * len(lines)
    for line, touched in zip(lines, mine.by_line, strict=True):
        assert all(t["kind"] == "personal" for t in touched)
        assert not touched or line.category == f"c{item}"
