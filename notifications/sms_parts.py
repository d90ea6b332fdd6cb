"""SMS length arithmetic: GSM-7 160/153 characters per part, UCS-2 (Cyrillic) 70/67."""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    return set(text) <= _GSM7


def sms_length(text: str) -> tuple[int, str]:
    """Length in encoding units and the encoding ('gsm7' or 'ucs2'). Set and codec arithmetic, not a
    loop per character: a campaign counts this for every member."""
    chars = set(text)
    if chars <= _GSM7:
        return len(text) + sum(text.count(ch) for ch in chars & GSM7_EXTENDED), "gsm7"
    return len(text.encode("utf-16-le", "surrogatepass")) // 2, "ucs2"  # astral chars take two UTF-16 units


def count_parts(text: str) -> int:
    """How many billed parts an SMS with this text takes."""
    length, encoding = sms_length(text)
    single, multi = (160, 153) if encoding == "gsm7" else (70, 67)
    if length <= single:
        return 1
    return -(-length // multi)
