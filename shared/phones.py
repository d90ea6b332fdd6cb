"""Phone numbers: parse any usual form into E.164, and mask them for logs."""

from __future__ import annotations

import functools

import phonenumbers

from shared.errors import FieldError, InvalidInput


class _NotInPlan(ValueError):
    """The number parses but does not exist in its country's numbering plan."""


def normalize_phone(raw: str, region: str = "RU", field: str = "phone") -> str:
    """Return the E.164 form or raise InvalidInput with a message an integrator can act on."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidInput("Phone number is missing or too long.", [FieldError(field, "expected a phone number")])
    try:
        return _e164(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            f"Cannot read {raw!r} as a phone number.",
            [FieldError(field, "use a form such as +79123456789 or 8 (912) 345-67-89")],
        ) from exc
    except _NotInPlan:
        raise InvalidInput(
            f"{raw!r} is not a valid phone number.",
            [FieldError(field, "the number does not exist in its country's numbering plan")],
        ) from None


@functools.lru_cache(maxsize=16384)  # ~4 MB at most
def _e164(text: str, region: str) -> str:
    """Pure and costly (phonenumbers' parse and plan check, ~0.2 ms), and tills send the same members
    again and again: kept. Failures raise and so are never kept."""
    if region == "RU" and text.startswith("8"):
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) == 11:  # Russian trunk prefix: 8 (912) 345-67-89
            text = "+7" + digits[1:]
    number = phonenumbers.parse(text, region)
    if not phonenumbers.is_valid_number(number):
        raise _NotInPlan(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """+79123456789 -> +7912***6789; logs never carry a whole number."""
    if not phone:
        return "-"
    if len(phone) <= 8:
        return phone[:2] + "***"
    return phone[:5] + "***" + phone[-4:]
