"""The till scans what we draw: EAN-13 modules by the standard's tables, a QR that decodes to the number."""

from __future__ import annotations

import pytest

from webapp.cabinet.card_codes import ean13_modules, ean13_svg, qr_svg


def test_ean13_follows_the_standard() -> None:
    modules = ean13_modules("4006381333931")  # first digit 4: parity L G L L G G
    assert len(modules) == 95
    left = ["0001101", "0100111", "0101111", "0111101", "0001001", "0110011"]  # 0L 0G 6L 3L 8G 1G
    right = ["1000010", "1000010", "1000010", "1110100", "1000010", "1100110"]  # 3 3 3 9 3 1
    assert modules == "101" + "".join(left) + "01010" + "".join(right) + "101"


def test_ean13_refuses_what_is_not_13_digits() -> None:
    for bad in ("123", "400638133393X", "40063813339310"):
        with pytest.raises(ValueError, match="13 digits"):
            ean13_modules(bad)


def test_svgs_carry_their_labels() -> None:
    assert 'aria-label="card 4006381333931"' in ean13_svg("4006381333931", "card 4006381333931")
    qr = qr_svg("4006381333931", "QR")
    assert qr.startswith("<svg")
    assert 'aria-label="QR"' in qr
    assert qr.count("h1v1h-1z") > 100
