"""The pure pricing engine: discounts first, then (outside) points and certificates, then boosted
accrual on the money paid. No I/O: the receipt's lines, the shopper and the promotions in, per-line
amounts and the explanation out. The order is written down in docs/promotions.md."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any, Protocol

from shared import rules as arithmetic
from shared.program import ProgramRules
from shared.promotions.terms import BOOSTS, BUNDLE, PromotionTerms, Shopper


class LineLike(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def price(self) -> int: ...
    @property
    def amount(self) -> int: ...


@dataclass
class Touches:
    """Which promotions touched which line, and how much each gave in all."""

    by_line: list[list[dict[str, Any]]]
    totals: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, line: int, terms: PromotionTerms, key: str, value: int) -> None:
        self.by_line[line].append({"id": terms.id, "name": terms.name, "kind": terms.kind, key: value})
        total = self.totals.setdefault(
            terms.id, {"id": terms.id, "name": terms.name, "kind": terms.kind, "discount": 0, "points": 0}
        )
        total[key] += value


def eligible(
    promotions: Iterable[PromotionTerms],
    store_id: str,
    at: datetime,
    shopper: Shopper,
    unlocked: frozenset[int] = frozenset(),
    excluded: frozenset[int] = frozenset(),
) -> list[PromotionTerms]:
    """Promotions that run at `at` for this shopper in this store, in the order they apply."""
    found = [
        p
        for p in promotions
        if p.id not in excluded
        and (not p.code_only or p.id in unlocked)
        and p.runs_at(at)
        and p.targets(store_id, shopper)
    ]
    return sorted(found, key=lambda p: p.order)


def relevant(promotions: Iterable[PromotionTerms], lines: Sequence[LineLike]) -> list[PromotionTerms]:
    """Drop promotions that can touch no line of this receipt (most of 200 are about other goods)."""
    skus = {line.sku for line in lines}
    categories = {line.category for line in lines if line.category is not None}
    kept = []
    for p in promotions:
        if (p.skus or p.categories) and not (p.skus & skus or p.categories & categories):
            continue
        if p.kind == BUNDLE and not (p.with_skus & skus or p.with_categories & categories):
            continue
        kept.append(p)
    return kept


def apply_discounts(lines: Sequence[LineLike], promotions: Sequence[PromotionTerms], touches: Touches) -> list[int]:
    """Per-line discounts in kopecks. Each promotion acts on what earlier ones left; a promotion
    that is not combinable takes only untouched lines and keeps later ones off them."""
    gross = sum(line.amount for line in lines)
    left = [line.amount for line in lines]
    touched = [False] * len(lines)
    closed = [False] * len(lines)
    for terms in promotions:
        if terms.kind in BOOSTS or gross < terms.min_total:
            continue
        targets = [
            i
            for i, line in enumerate(lines)
            if terms.covers(line.sku, line.category)
            and left[i] > 0
            and not closed[i]
            and (terms.combinable or not touched[i])
        ]
        if not targets:
            continue
        if terms.kind == BUNDLE:
            cut = _bundle_cut(lines, terms, targets, left)
        elif terms.percent:
            cut = [left[i] * terms.percent // 100 for i in targets]
        else:
            cut = arithmetic.distribute(min(terms.amount, sum(left[i] for i in targets)), [left[i] for i in targets])
        for i, value in zip(targets, cut, strict=True):
            if value <= 0:
                continue
            left[i] -= value
            touched[i] = True
            closed[i] = closed[i] or not terms.combinable
            touches.add(i, terms, "discount", value)
    return [line.amount - rest for line, rest in zip(lines, left, strict=True)]


def _bundle_cut(lines: Sequence[LineLike], terms: PromotionTerms, targets: list[int], left: list[int]) -> list[int]:
    """One target unit discounted per "with" unit on the receipt (one pastry per coffee)."""
    pairs = sum(
        (
            line.quantity
            for line in lines
            if terms.unlocks(line.sku, line.category) and not terms.covers(line.sku, line.category)
        ),
        Decimal(0),
    )
    units = pairs.to_integral_value(rounding=ROUND_FLOOR)
    cut = []
    for i in targets:
        take = min(lines[i].quantity, units)
        units -= take
        value = int((Decimal(lines[i].price) * take * terms.percent / 100).to_integral_value(rounding=ROUND_FLOOR))
        cut.append(min(value, left[i]))
    return cut


def boosted_accrual(
    rules: ProgramRules,
    lines: Sequence[LineLike],
    paid: Sequence[int],
    percent: int,
    promotions: Sequence[PromotionTerms],
    touches: Touches,
) -> tuple[int, list[int]]:
    """Points on money paid at the member's rate, raised by accrual (and personal) promotions line by line;
    exact per receipt and rounded down once, then fixed points on top."""
    rates = [Fraction(percent)] * len(lines)
    boosted = [False] * len(lines)
    closed = [False] * len(lines)
    weight = [Fraction(rules.multiplier(line.category)) / (100 * rules.point_value) for line in lines]
    fixed = [0] * len(lines)
    gross = sum(line.amount for line in lines)
    for terms in promotions:
        if terms.kind not in BOOSTS or gross < terms.min_total:
            continue
        targets = [
            i
            for i, line in enumerate(lines)
            if terms.covers(line.sku, line.category)
            and paid[i] > 0
            and not closed[i]
            and (terms.combinable or not boosted[i])
        ]
        if not targets:
            continue
        gained = Fraction(0)
        for i in targets:
            before = rates[i]
            if terms.multiplier:
                rates[i] *= terms.multiplier
            rates[i] += terms.extra_percent
            gained += (rates[i] - before) * paid[i] * weight[i]
            boosted[i] = True
            closed[i] = closed[i] or not terms.combinable
        extra = arithmetic.distribute(terms.points, [paid[i] for i in targets])
        from_rate = _split(int(gained), [(rates[i], paid[i], weight[i]) for i in targets])
        for k, i in enumerate(targets):
            fixed[i] += extra[k]
            if from_rate[k] + extra[k]:
                touches.add(i, terms, "points", from_rate[k] + extra[k])
    exact = [rate * amount * w for rate, amount, w in zip(rates, paid, weight, strict=True)]
    total, by_line = arithmetic.exact_points(exact)
    return total + sum(fixed), [a + b for a, b in zip(by_line, fixed, strict=True)]


def _split(total: int, parts: list[tuple[Fraction, int, Fraction]]) -> list[int]:
    """An explanation's points spread over the lines a promotion boosted, in proportion to their points."""
    shares = [rate * amount * w for rate, amount, w in parts]
    if total == 0 or sum(shares) == 0:
        return [0] * len(parts)
    return arithmetic.exact_shares(total, shares)
