"""EAN-13 card numbers in the in-store range (prefix 2x), printable as barcodes."""

from __future__ import annotations

import secrets

CARD_PREFIX = "2"  # EAN-13 numbers starting with 2 are reserved for in-store use


def ean13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_ean13(number: str) -> bool:
    return len(number) == 13 and number.isdigit() and ean13_check_digit(number[:12]) == number[12]


def new_card_number() -> str:
    body = CARD_PREFIX + f"{secrets.randbelow(10**11):011d}"  # random, so card numbers are not guessable
    return body + ean13_check_digit(body)
