"""SMS length arithmetic: GSM-7 160/153 characters per part, UCS-2 (Cyrillic) 70/67."""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def sms_length(text: str) -> tuple[int, str]:
    """Length in encoding units and the encoding ('gsm7' or 'ucs2')."""
    if is_gsm7(text):
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text), "gsm7"
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text), "ucs2"  # astral chars take two UTF-16 units


def count_parts(text: str) -> int:
    """How many billed parts an SMS with this text takes."""
    length, encoding = sms_length(text)
    single, multi = (160, 153) if encoding == "gsm7" else (70, 67)
    if length <= single:
        return 1
    return -(-length // multi)
