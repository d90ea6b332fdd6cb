"""Bounds for anything from outside that reaches the database: integers that fit a 64-bit column,
dates in a sane range with a time zone, strings without control characters and of bounded length.

Each check returns a message for a field error (or None when the value is fine), so callers collect
them in their FieldErrors and answer 4xx with a field message, never a 500."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_BIGINT = 2**63 - 1  # the largest value a BIGINT column holds
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_ZONE = 64  # the longest IANA name is about 30 characters
MAX_DIGITS = 19  # enough for MAX_BIGINT; more is never one of our ids
# C0 controls (NUL included), DEL and C1 controls; multi-line texts may keep tab, newline and return.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

CONTROL_MESSAGE = "must not contain control characters"
DATE_MESSAGE = f"must be between {MIN_YEAR} and {MAX_YEAR}"


def has_control(text: str, *, multiline: bool = False) -> bool:
    return (_CONTROL_MULTILINE if multiline else _CONTROL).search(text) is not None


def strip_control(text: str) -> str:
    """Control characters replaced by spaces (for names we get from elsewhere, e.g. Telegram)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def text_problem(value: str, limit: int, *, multiline: bool = False) -> str | None:
    if len(value) > limit:
        return f"at most {limit} characters"
    if has_control(value, multiline=multiline):
        return CONTROL_MESSAGE
    return None


def id_from_digits(raw: str | None) -> int | None:
    """A positive row id as a decimal string (a cursor, ?before=): None when it is not one."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DIGITS:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_BIGINT else None


def int_problem(value: int, low: int = 0, high: int = MAX_BIGINT) -> str | None:
    if not low <= value <= high:
        return f"must be from {low} to {high}"
    return None


def date_problem(value: date) -> str | None:
    return None if MIN_YEAR <= value.year <= MAX_YEAR else DATE_MESSAGE


def moment_problem(value: datetime) -> str | None:
    """A time with a UTC offset, in the years we accept, also once converted to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "needs a UTC offset, e.g. +03:00"
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return DATE_MESSAGE
    return None


def zone_problem(name: str) -> str | None:
    """An IANA time zone name that loads; a long or odd string is refused before it reaches the disk."""
    if not name or len(name) > MAX_ZONE or has_control(name) or not name.isascii():
        return "unknown IANA time zone, e.g. Europe/Moscow"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "unknown IANA time zone, e.g. Europe/Moscow"
    return None
