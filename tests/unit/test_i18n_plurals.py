"""Russian counts take one of three forms; English one of two."""

from __future__ import annotations

import pytest

from shared.i18n import points_text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 баллов"),
        (1, "1 балл"),
        (2, "2 балла"),
        (4, "4 балла"),
        (5, "5 баллов"),
        (11, "11 баллов"),
        (12, "12 баллов"),
        (14, "14 баллов"),
        (21, "21 балл"),
        (22, "22 балла"),
        (25, "25 баллов"),
        (101, "101 балл"),
        (111, "111 баллов"),
        (1002, "1002 балла"),
        (-1, "-1 балл"),
    ],
)
def test_russian_forms(n: int, text: str) -> None:
    assert points_text(n, "ru") == text


def test_english_forms_and_an_unknown_language_falls_back_to_russian() -> None:
    assert [points_text(n, "en") for n in (0, 1, 2)] == ["0 points", "1 point", "2 points"]
    assert points_text(3, "de") == "3 балла"


def test_messages_agree_with_the_number() -> None:
    from notifications.templates import render_message

    def sms(points: int, language: str) -> str:
        return render_message(
            "points_accrued",
            "sms",
            language,
            {"language": language, "points": points, "available_on": None, "balance": 300},
        ).text

    assert [sms(n, "ru") for n in (21, 3, 11)] == [
        "+21 балл. Баланс 300",
        "+3 балла. Баланс 300",
        "+11 баллов. Баланс 300",
    ]
    assert sms(1, "en") == "+1 point. Balance 300"
