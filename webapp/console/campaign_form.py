"""The campaign form <-> create_campaign's arguments: a cascade of up to five channels in order,
one or two A/B variants with texts per channel in Russian (English optional), control share and
the attribution window."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import FieldError, FieldErrors, InvalidInput
from shared.inputs import date_problem
from shared.vocabulary import CHANNELS_CHEAPEST_FIRST, LANGUAGES

VARIANT_CODES = ("A", "B")


def form_int(problems: FieldErrors, form: Any, name: str, default: int | None) -> int | None:
    """A whole number from a form field (the default when empty); a bad one becomes a field error."""
    text = str(form.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        problems.add(name, "a whole number")
        return default
    if abs(value) >= 2**31:
        problems.add(name, "too large")
        return default
    return value


def campaign_args(form: Any) -> dict[str, Any]:
    """Keyword arguments for create_campaign (it validates the rest and names fields the same way)."""
    problems = FieldErrors()
    channels = [str(form.get(f"channel_{i}") or "").strip() for i in range(1, len(CHANNELS_CHEAPEST_FIRST) + 1)]
    channels = [c for c in channels if c]
    variants = []
    for index, code in enumerate(VARIANT_CODES):
        if index and form.get(f"{code}_enabled") != "yes":
            continue
        templates: dict[str, Any] = {}
        for channel in channels:
            texts: dict[str, Any] = {}
            for language in LANGUAGES:
                text = str(form.get(f"{code}_{channel}_{language}") or "").strip()
                subject = str(form.get(f"{code}_{channel}_{language}_subject") or "").strip()
                if text or subject or language == "ru":
                    texts[language] = {"text": text, **({"subject": subject} if subject else {})}
            templates[channel] = texts
        variants.append({"code": code, "weight": form_int(problems, form, f"{code}_weight", 1), "templates": templates})
    segment_id = form_int(problems, form, "segment_id", 0)
    args = {
        "name": str(form.get("name") or "").strip()[:200],
        "segment_id": segment_id,
        "channels": channels,
        "variants": variants,
        "control_percent": form_int(problems, form, "control_percent", 0),
        "attribution_days": form_int(problems, form, "attribution_days", 7),
        "promotion_id": form_int(problems, form, "promotion_id", None),
    }
    problems.raise_if_any("Some fields are not numbers.")
    return args


def field_name(service_field: str) -> str:
    """The service's field path (variants[0].templates.sms.ru) as the form's input name (A_sms_ru)."""
    if service_field.startswith("variants["):
        index = int(service_field[9 : service_field.index("]")])
        rest = service_field[service_field.index("]") + 2 :]
        code = VARIANT_CODES[index] if index < len(VARIANT_CODES) else "A"
        if rest.startswith("templates."):
            return code + "_" + rest[len("templates.") :].replace(".", "_")
        return f"{code}_{rest}"
    return service_field


def schedule_time(form: Any, zone: ZoneInfo, now: datetime) -> datetime:
    """ "Send now" is now; otherwise the local date and time typed, in the program's time zone."""
    if form.get("when") != "later":
        return now
    text = str(form.get("at") or "").strip()
    try:
        at = datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise InvalidInput("When should it go?", [FieldError("at", "a date and time")]) from None
    if at < now:
        raise InvalidInput("That time has passed.", [FieldError("at", "must be in the future")])
    if (problem := date_problem(at.date())) is not None:
        raise InvalidInput("When should it go?", [FieldError("at", problem)])
    return at
