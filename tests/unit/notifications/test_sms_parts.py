"""One GSM 03.38 table for the cost shown and the bytes sent."""

from __future__ import annotations

import pytest

from notifications.sms_parts import DATA_CODING_GSM7, DATA_CODING_UCS2, count_parts, encode_parts, sms_length


@pytest.mark.parametrize(
    ("text", "septets", "wire"),
    [
        ("§", 1, b"\x5f"),  # basic table 0x5F (smpplib's own table has a backtick there and sent UCS-2)
        ("¿", 1, b"\x60"),
        ("@", 1, b"\x00"),
        ("€", 2, b"\x1b\x65"),
        ("[", 2, b"\x1b\x3c"),
        ("^", 2, b"\x1b\x14"),
        ("|", 2, b"\x1b\x40"),
        ("\\", 2, b"\x1b\x2f"),
    ],
)
def test_gsm7_characters_count_as_gsm_03_38_says(text: str, septets: int, wire: bytes) -> None:
    assert sms_length(text) == (septets, "gsm7")
    assert encode_parts(text) == ([wire], DATA_CODING_GSM7, 0)


@pytest.mark.parametrize("text", ["`", "ё", "Привет", "😀"])
def test_outside_the_table_is_ucs2(text: str) -> None:
    assert sms_length(text)[1] == "ucs2"
    assert encode_parts(text)[1] == DATA_CODING_UCS2


@pytest.mark.parametrize(
    "text",
    [
        "§" * 160,
        "§" * 161,
        "€" * 80,
        "€" * 81,  # 162 septets: two parts; 76 + 5 euros, no escape cut in half
        "a" * 152 + "€" + "b" * 10,  # the escape would straddle 153: it moves to part 2
        "Б" * 70,
        "Б" * 71,
        "Б" * 66 + "😀" + "Б" * 10,  # a surrogate pair is not split either
    ],
)
def test_cost_estimate_is_the_number_of_parts_sent(text: str) -> None:
    parts, _, esm_class = encode_parts(text, reference=7)
    assert count_parts(text) == len(parts)
    if len(parts) > 1:
        assert esm_class == 0x40
        assert all(p[:6] == bytes((5, 0, 3, 7, len(parts), n)) for n, p in enumerate(parts, start=1))
        bodies = [p[6:] for p in parts]
        assert all(not b.endswith(b"\x1b") for b in bodies)
        assert max(map(len, bodies)) <= 153


def test_part_counts() -> None:
    assert count_parts("€" * 81) == 2
    assert count_parts("a" * 152 + "€" + "b" * 10) == 2
    assert count_parts("a" * 152 + "€" + "b" * 152) == 3  # 152 / 2 + 151 / 1: the euro moved, one more part
    assert count_parts("Б" * 134) == 2
    assert count_parts("Б" * 135) == 3
