"""The one CSV writer: formulas in text cells are neutralised, numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from shared.csv_export import csv_text, safe_cell


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "-5", "=", '=HYPERLINK("http://evil","x")'],
)
def test_text_that_a_spreadsheet_would_run_is_prefixed(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Autumn sale", "W-ABC", "1+1", " =1", "", "Осень"])
def test_plain_text_is_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_we_computed_stay_numbers_and_none_is_empty() -> None:
    assert [safe_cell(v) for v in (-120, 0, -0.25, Decimal("-3.5"), None, True)] == [
        -120,
        0,
        -0.25,
        Decimal("-3.5"),
        "",
        "True",
    ]


def test_a_whole_file_reads_back_with_the_prefix() -> None:
    text = csv_text(["name", "points"], [["=cmd|' /C calc'!A0", -5], ["-5", 7], ["ok", None]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "points"],
        ["'=cmd|' /C calc'!A0", "-5"],
        ["'-5", "7"],
        ["ok", ""],
    ]
