"""Program arithmetic: caps, rounding, birthdays, tiers, cards, phones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.cards import ean13_check_digit, is_valid_ean13, new_card_number
from shared.errors import InvalidInput
from shared.phones import mask_phone, normalize_phone
from shared.program import load_program
from shared.rules import (
    accrual_percent,
    accrual_points,
    distribute,
    in_birthday_window,
    redemption_cap,
    share_down,
)

RULES = load_program()


def test_cap_is_seventy_percent_rounded_down_to_whole_points() -> None:
    assert redemption_cap(RULES, 25000) == 175
    assert redemption_cap(RULES, 99) == 0  # 0.69 ₽ cannot be paid with a whole point
    assert redemption_cap(RULES, 1000) == 7
    assert redemption_cap(RULES, 1099) == 7  # 7.693 → 7


def test_accrual_rounds_down_once_per_receipt_not_per_line() -> None:
    # ten lines of 15 ₽ at 5%: 0.75 points each; per line that would be 0, per receipt it is 7
    total, lines = accrual_points(RULES, [1500] * 10, [None] * 10, 5)
    assert total == 7
    assert sum(lines) == 7
    assert max(lines) == 1


def test_services_earn_half() -> None:
    total, lines = accrual_points(RULES, [100000, 100000], ["food", "services"], 10)
    assert lines == [100, 50]
    assert total == 150


def test_distribute_adds_up_exactly_and_is_proportional() -> None:
    parts = distribute(17500, [25000, 5000, 5000])
    assert sum(parts) == 17500
    assert parts[0] > parts[1]
    assert distribute(0, [1, 2]) == [0, 0]
    assert distribute(5, [0, 0]) == [0, 0]


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
)
def test_distribute_never_loses_a_unit(total: int, weights: list[int]) -> None:
    parts = distribute(total, weights)
    assert sum(parts) == (total if sum(weights) else 0)
    assert all(p >= 0 for p in parts)


@pytest.mark.parametrize(
    ("birth", "day", "inside"),
    [
        (date(1990, 5, 17), date(2026, 5, 15), True),  # two days before
        (date(1990, 5, 17), date(2026, 5, 17), True),  # the day itself
        (date(1990, 5, 17), date(2026, 5, 14), False),  # three days before
        (date(1990, 5, 17), date(2026, 5, 18), False),  # the day after
        (date(1990, 1, 1), date(2025, 12, 30), True),  # window crosses the new year
        (date(1990, 1, 1), date(2025, 12, 29), False),
        (date(1990, 3, 1), date(2027, 2, 27), True),  # across the end of February
        (date(1992, 2, 29), date(2027, 2, 28), True),  # leap-day birthday in a common year
        (date(1992, 2, 29), date(2027, 2, 26), True),
        (date(1992, 2, 29), date(2028, 2, 29), True),  # and in a leap year
        (date(1992, 2, 29), date(2028, 3, 1), False),
    ],
)
def test_birthday_window(birth: date, day: date, inside: bool) -> None:
    assert in_birthday_window(birth, day, 2) is inside


def test_birthday_is_judged_in_the_members_time_zone() -> None:
    birth = date(1990, 5, 17)
    moment = datetime(2026, 5, 17, 16, 0, tzinfo=UTC)  # 19:00 in Moscow, 02:00 on the 18th in Vladivostok
    assert accrual_percent(RULES, "standard", birth, moment, ZoneInfo("Europe/Moscow")) == (14, True)
    assert accrual_percent(RULES, "standard", birth, moment, ZoneInfo("Asia/Vladivostok")) == (5, False)


def test_birthday_never_lowers_a_higher_tier_rate() -> None:
    moment = datetime(2026, 5, 17, 9, 0, tzinfo=UTC)
    assert accrual_percent(RULES, "platinum", date(1990, 5, 17), moment, ZoneInfo("Europe/Moscow")) == (15, False)


def test_tier_thresholds_are_inclusive() -> None:
    assert RULES.tier_for_spend(2999999).code == "standard"
    assert RULES.tier_for_spend(3000000).code == "gold"
    assert RULES.tier_for_spend(10000000).code == "platinum"
    assert RULES.next_tier("platinum") is None


def test_share_down_rounds_down() -> None:
    assert share_down(7, 1, 2) == 3
    assert share_down(7, 2, 2) == 7
    assert share_down(5, 1, 0) == 0


def test_multiplier_of_unknown_category_is_one() -> None:
    assert RULES.multiplier("wine") == Decimal(1)
    assert RULES.multiplier("services") == Decimal("0.5")


def test_card_numbers_are_valid_ean13() -> None:
    for _ in range(200):
        number = new_card_number()
        assert is_valid_ean13(number)
    assert ean13_check_digit("400638133393") == "1"  # a published EAN-13: 4006381333931
    assert not is_valid_ean13("4006381333932")
    assert not is_valid_ean13("40063813339")


@pytest.mark.parametrize(
    "raw",
    ["8 (912) 345-67-89", "+7 912 345 67 89", "79123456789", "89123456789", "+7(912)3456789", " 8-912-345-67-89 "],
)
def test_usual_phone_forms_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+79123456789"


@pytest.mark.parametrize("raw", ["", "abc", "12", "+7 000", "+1 555", "8" * 40])
def test_garbage_phones_are_refused_with_a_field_error(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw)
    assert caught.value.errors[0].field == "phone"


def test_kazakh_numbers_with_their_region() -> None:
    assert normalize_phone("8 701 234 5678", "KZ") == "+77012345678"


def test_phones_are_masked_for_logs() -> None:
    assert mask_phone("+79123456789") == "+7912***6789"
    assert "345" not in mask_phone("+79123456789")
