"""The segment builder's form <-> a segment definition (money in major units on the form, kopecks
in the definition); a field that is not a number is a field error under the form's own name."""

from __future__ import annotations

import math
from typing import Any

from shared.errors import FieldErrors

NUMBERS = ("window_days", "purchases_min", "purchases_max", "last_purchase_days_min", "last_purchase_days_max")
MONEY = ("spend_min", "spend_max")
LISTS = ("tiers", "registration_channels", "rfm_segments", "channels")
SCORES = ("r_scores", "f_scores", "m_scores")
TEXTS = ("birthday_from", "birthday_to", "registered_from", "registered_to")


def _values(form: Any, name: str) -> list[str]:
    getall = getattr(form, "getall", None)
    raw = getall(name, []) if getall is not None else form.get(name, [])
    items = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in items if str(v).strip()]


def definition_from_form(form: Any) -> dict[str, Any]:
    """The raw definition (validated later by the segments service); non-numbers raise InvalidInput."""
    problems = FieldErrors()
    raw: dict[str, Any] = {}
    for name in (*NUMBERS, *MONEY):
        text = str(form.get(name) or "").strip().replace(" ", "").replace(",", ".")
        if not text:
            continue
        if len(text) > 20:  # longer is never a sensible filter, and int() of 5,000 digits refuses anyway
            problems.add(name, "must be 0 or more and not absurdly large")
            continue
        try:
            number = float(text) if name in MONEY else int(text)
        except ValueError:
            problems.add(name, "a whole number" if name not in MONEY else "an amount, e.g. 1500 or 1500.50")
            continue
        if not math.isfinite(number) or not 0 <= number < 10**15:  # nan, inf and 1e308 stop here
            problems.add(name, "must be 0 or more and not absurdly large")
            continue
        raw[name] = round(number * 100) if name in MONEY else number
    for name in LISTS:
        if values := _values(form, name):
            raw[name] = values
    for name in SCORES:
        if values := _values(form, name):
            try:
                raw[name] = [int(v) for v in values if len(v) < 3]
            except ValueError:
                problems.add(name, "scores from 1 to 5")
    sources = [s.strip() for s in str(form.get("registration_sources") or "").split(",") if s.strip()]
    if sources:
        raw["registration_sources"] = sources
    for name in TEXTS:
        if text := str(form.get(name) or "").strip():
            raw[name] = text
    if "channels" in raw:
        raw["consent"] = form.get("consent") != "any"
    problems.raise_if_any("Some filters are not numbers.")
    return raw


def form_from_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """What the builder's inputs show for a saved definition."""
    values: dict[str, Any] = {k: definition[k] for k in (*NUMBERS, *TEXTS) if k in definition}
    for name in MONEY:
        if name in definition:
            kopecks = int(definition[name])
            values[name] = f"{kopecks // 100}" if kopecks % 100 == 0 else f"{kopecks / 100:.2f}"
    for name in (*LISTS, *SCORES):
        values[name] = [str(v) for v in definition.get(name, [])]
    values["registration_sources"] = ", ".join(definition.get("registration_sources", []))
    values["consent"] = "any" if definition.get("consent") is False else "granted"
    return values


def raw_form(form: Any) -> dict[str, Any]:
    """The submitted inputs as typed, to show the form again after an error."""
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in (*NUMBERS, *MONEY, *TEXTS)}
    for name in (*LISTS, *SCORES):
        values[name] = _values(form, name)
    values["registration_sources"] = str(form.get("registration_sources") or "")
    values["consent"] = "any" if form.get("consent") == "any" else "granted"
    return values
