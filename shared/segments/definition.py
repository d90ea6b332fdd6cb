"""A segment definition: the filters a marketer picks, validated into a typed value.

Every filter is optional and all of them must hold (AND). Money is in kopecks, periods in days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from shared.errors import FieldErrors
from shared.inputs import date_problem, text_problem
from shared.segments.rfm import RFM_SEGMENTS
from shared.vocabulary import CHANNELS as ALL_CHANNELS

# The channels a segment can require reachability on: push has no address on the member row.
CHANNELS = tuple(channel for channel in ALL_CHANNELS if channel != "push")
_MMDD = re.compile(r"^(\d\d)-(\d\d)$")
_INT_FIELDS = (
    "spend_min",
    "spend_max",
    "purchases_min",
    "purchases_max",
    "last_purchase_days_min",
    "last_purchase_days_max",
)
# Business ranges (a century of days, a billion purchases, 100 billion roubles): far beyond real use,
# well inside date arithmetic and a 64-bit column.
_HIGHEST = {"spend": 10**13, "purchases": 10**9, "last_purchase_days": 36600}
_LIST_FIELDS = (
    "tiers",
    "registration_channels",
    "registration_sources",
    "rfm_segments",
    "r_scores",
    "f_scores",
    "m_scores",
    "channels",
)
KNOWN = frozenset(
    (
        *_INT_FIELDS,
        *_LIST_FIELDS,
        "window_days",
        "birthday_from",
        "birthday_to",
        "registered_from",
        "registered_to",
        "consent",
    )
)


@dataclass(frozen=True)
class SegmentDefinition:
    tiers: tuple[str, ...] = ()
    window_days: int = 365  # spend, purchase count and RFM look back this far
    spend_min: int | None = None  # kopecks paid within the window
    spend_max: int | None = None
    purchases_min: int | None = None
    purchases_max: int | None = None
    last_purchase_days_min: int | None = None  # never bought counts as "infinitely long ago"
    last_purchase_days_max: int | None = None
    birthday_from: int | None = None  # MMDD, inclusive; from > to wraps over the new year
    birthday_to: int | None = None
    # Stored and sent under these keys: registration sources (Member.source: pos, web, …, named
    # `channel` in the API) and the tags that brought members (Member.referral).
    registration_channels: tuple[str, ...] = ()
    registration_sources: tuple[str, ...] = ()
    registered_from: date | None = None  # inclusive, in the program's time zone
    registered_to: date | None = None
    rfm_segments: tuple[str, ...] = ()
    r_scores: tuple[int, ...] = ()
    f_scores: tuple[int, ...] = ()
    m_scores: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()  # reachable on at least one of these
    consent: bool = True  # ... with advertising consent on that channel
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def uses_rfm(self) -> bool:
        return bool(self.rfm_segments or self.r_scores or self.f_scores or self.m_scores)

    @property
    def uses_stats(self) -> bool:
        return any(v is not None for v in (self.spend_min, self.spend_max, self.purchases_min, self.purchases_max))

    def as_json(self) -> dict[str, Any]:
        """The stored form: only the filters that are set."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "extra" or value in (None, (), []):
                continue
            if key in ("birthday_from", "birthday_to"):
                value = f"{value // 100:02d}-{value % 100:02d}"
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        if out.get("window_days") == 365:
            out.pop("window_days")
        if out.get("consent") is True:
            out.pop("consent")
        return out


def _strings(errors: FieldErrors, name: str, value: Any, allowed: Iterable[str] | None) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or len(value) > 100
        or not all(isinstance(v, str) and v.strip() and text_problem(v, 128) is None for v in value)
    ):
        errors.add(name, "must be a list of non-empty strings (at most 128 characters, no control characters)")
        return ()
    allowed_set = set(allowed) if allowed is not None else None
    unknown = [v for v in value if allowed_set is not None and v not in allowed_set]
    if unknown:
        errors.add(name, f"unknown values: {', '.join(sorted(set(unknown)))}")
    return tuple(dict.fromkeys(value))


def _scores(errors: FieldErrors, name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(v) is int and 1 <= v <= 5 for v in value):
        errors.add(name, "must be a list of scores from 1 to 5")
        return ()
    return tuple(sorted(set(value)))


def _mmdd(errors: FieldErrors, name: str, value: Any) -> int | None:
    match = _MMDD.match(value) if isinstance(value, str) else None
    if match is None:
        errors.add(name, "must be a day of the year as MM-DD")
        return None
    month, day = int(match[1]), int(match[2])
    try:
        date(2024, month, day)  # a leap year, so 02-29 is a valid birthday
    except ValueError:
        errors.add(name, "is not a day of the year")
        return None
    return month * 100 + day


def _date(errors: FieldErrors, name: str, value: Any) -> date | None:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        errors.add(name, "must be a date as YYYY-MM-DD")
    elif (problem := date_problem(day)) is not None:
        errors.add(name, problem)
        day = None
    return day


def validate_definition(
    raw: Any, *, tiers: Iterable[str] | None = None, registration_channels: Iterable[str] | None = None
) -> SegmentDefinition:
    """Check a definition as a marketer's form or an API sends it; raise InvalidInput naming each
    bad field (the same field names the form uses)."""
    errors = FieldErrors()
    if not isinstance(raw, dict):
        errors.add("definition", "must be an object of filters")
        errors.raise_if_any("The segment definition is invalid.")
    values: dict[str, Any] = {}
    for key in sorted(set(raw) - KNOWN):
        errors.add(key, "is not a known filter")
    for key in _INT_FIELDS:
        if raw.get(key) is not None:
            highest = _HIGHEST[key.rsplit("_", 1)[0]]
            if type(raw[key]) is not int or not 0 <= raw[key] <= highest:
                errors.add(key, f"must be a whole number from 0 to {highest}")
            else:
                values[key] = raw[key]
    if "window_days" in raw:
        if type(raw["window_days"]) is not int or not 1 <= raw["window_days"] <= 3660:
            errors.add("window_days", "must be a number of days from 1 to 3660")
        else:
            values["window_days"] = raw["window_days"]
    for low, high in (
        ("spend_min", "spend_max"),
        ("purchases_min", "purchases_max"),
        ("last_purchase_days_min", "last_purchase_days_max"),
    ):
        if low in values and high in values and values[low] > values[high]:
            errors.add(high, f"must not be less than {low}")
    choices: dict[str, Iterable[str] | None] = {
        "tiers": tiers,
        "registration_channels": registration_channels,
        "registration_sources": None,
        "rfm_segments": RFM_SEGMENTS,
        "channels": CHANNELS,
    }
    for key, allowed in choices.items():
        if raw.get(key):
            values[key] = _strings(errors, key, raw[key], allowed)
    for key in ("r_scores", "f_scores", "m_scores"):
        if raw.get(key):
            values[key] = _scores(errors, key, raw[key])
    if ("birthday_from" in raw) != ("birthday_to" in raw):
        errors.add("birthday_to" if "birthday_from" in raw else "birthday_from", "give both ends of the range")
    for key in ("birthday_from", "birthday_to"):
        if key in raw:
            values[key] = _mmdd(errors, key, raw[key])
    for key in ("registered_from", "registered_to"):
        if raw.get(key) is not None:
            values[key] = _date(errors, key, raw[key])
    if (
        values.get("registered_from")
        and values.get("registered_to")
        and values["registered_from"] > values["registered_to"]
    ):
        errors.add("registered_to", "must not be before registered_from")
    if "consent" in raw:
        if not isinstance(raw["consent"], bool):
            errors.add("consent", "must be true or false")
        else:
            values["consent"] = raw["consent"]
    errors.raise_if_any("The segment definition is invalid.")
    return SegmentDefinition(**values)
