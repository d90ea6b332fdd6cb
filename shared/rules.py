"""Pure program arithmetic: rates, caps, birthday windows and exact integer distribution."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from shared.program import ProgramRules


def birthday_in_year(birth_date: date, year: int) -> date:
    """The birthday as celebrated in `year`; 29 February falls on the 28th in common years."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


def in_birthday_window(birth_date: date | None, local_day: date, days_before: int) -> bool:
    """True from `days_before` days before the birthday to the birthday itself, inclusive."""
    if birth_date is None:
        return False
    for year in (local_day.year - 1, local_day.year, local_day.year + 1):
        birthday = birthday_in_year(birth_date, year)
        if birthday - timedelta(days=days_before) <= local_day <= birthday:
            return True
    return False


def member_zone(rules: ProgramRules, time_zone: str | None) -> ZoneInfo:
    return ZoneInfo(time_zone) if time_zone else rules.zone


def accrual_percent(
    rules: ProgramRules,
    tier_code: str,
    birth_date: date | None,
    purchased_at: datetime,
    zone: ZoneInfo,
    base: int | None = None,
) -> tuple[int, bool]:
    """The rate for a purchase and whether the birthday treatment gave it. `base` replaces the tier's rate
    (a coalition partner's agreement at its stores); the birthday treatment still raises it."""
    tier_percent = rules.tier(tier_code).accrual_percent if base is None else base
    local_day = purchased_at.astimezone(zone).date()
    if in_birthday_window(birth_date, local_day, rules.birthday.days_before):
        return max(tier_percent, rules.birthday.accrual_percent), rules.birthday.accrual_percent > tier_percent
    return tier_percent, False


def redemption_cap(rules: ProgramRules, after_discount: int) -> int:
    """Points that may pay for a receipt: the cap share of it, rounded down to whole points."""
    return (after_discount * rules.redemption_cap_percent) // (100 * rules.point_value)


def distribute(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer in proportion to weights (largest remainder); parts add up exactly."""
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    shares = [Fraction(total * w, weight_sum) for w in weights]
    return _round_shares(total, shares)


def _round_shares(total: int, shares: Sequence[Fraction]) -> list[int]:
    parts = [int(share) for share in shares]  # floor, shares are non-negative
    left = total - sum(parts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def accrual_points(
    rules: ProgramRules, paid_by_line: Sequence[int], categories: Sequence[str | None], percent: int
) -> tuple[int, list[int]]:
    """Points earned on money paid: exact per receipt, rounded down once, then spread over lines."""
    exact = [
        Fraction(paid) * percent * Fraction(rules.multiplier(category)) / (100 * rules.point_value)
        for paid, category in zip(paid_by_line, categories, strict=True)
    ]
    return exact_points(exact)


def exact_points(exact: Sequence[Fraction]) -> tuple[int, list[int]]:
    """Exact per-line points rounded down once per receipt, then spread back over the lines."""
    total = int(sum(exact, Fraction(0)))
    if total == 0:
        return 0, [0] * len(exact)
    return total, _round_shares(total, exact)


def exact_shares(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Split an integer in proportion to fractional weights (largest remainder)."""
    weight_sum = sum(weights, Fraction(0))
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    return _round_shares(total, [total * w / weight_sum for w in weights])


def share_down(value: int, part: int, whole: int) -> int:
    """value × part / whole, rounded down: refunds reverse and restore with this."""
    if whole <= 0:
        return 0
    return (value * part) // whole


def decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
