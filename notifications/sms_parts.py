"""SMS length arithmetic and the parts actually sent, from one GSM 03.38 table.

GSM-7: 160 septets in one part, 153 per part when split (an extension character takes two and is never
cut in half); anything outside the table goes as UCS-2 (Cyrillic): 70 UTF-16 units, 67 per part. The
cost estimate (``count_parts``) and the SMPP provider (``encode_parts``) both read this module, so what
marketers are shown is what is billed.
"""

from __future__ import annotations

import random

# GSM 03.38 default alphabet, by code point 0x00-0x7F (0x1B is the escape to the extension table).
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: sent as 0x1B followed by this code.
GSM7_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
GSM7_BASIC = frozenset(GSM7_TABLE) - {"\x1b"}
GSM7_EXTENDED = frozenset(GSM7_EXTENSION)
_GSM7 = GSM7_BASIC | GSM7_EXTENDED
_CODE = {ch: code for code, ch in enumerate(GSM7_TABLE) if ch != "\x1b"}

DATA_CODING_GSM7, DATA_CODING_UCS2 = 0x00, 0x08  # SMPP data_coding: SMSC default alphabet / UCS-2
ESM_CLASS_UDHI = 0x40
LIMITS = {"gsm7": (160, 153), "ucs2": (70, 67)}  # units in one part, units per part when split


def is_gsm7(text: str) -> bool:
    return set(text) <= _GSM7


def sms_length(text: str) -> tuple[int, str]:
    """Length in encoding units and the encoding ('gsm7' or 'ucs2'). Set and codec arithmetic, not a
    loop per character: a campaign counts this for every member."""
    chars = set(text)
    if chars <= _GSM7:
        return len(text) + sum(text.count(ch) for ch in chars & GSM7_EXTENDED), "gsm7"
    return len(text.encode("utf-16-le", "surrogatepass")) // 2, "ucs2"  # astral chars take two UTF-16 units


def _units(text: str, encoding: str) -> list[bytes]:
    """One indivisible unit per character: a septet (two for an extension character) or UTF-16 units."""
    if encoding == "gsm7":
        return [bytes((0x1B, GSM7_EXTENSION[ch])) if ch in GSM7_EXTENSION else bytes((_CODE[ch],)) for ch in text]
    return [ch.encode("utf-16-be", "surrogatepass") for ch in text]


def _split(units: list[bytes], per_part: int, unit_size: int) -> list[bytes]:
    parts: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for unit in units:
        if size + len(unit) > per_part * unit_size:
            parts.append(b"".join(current))
            current, size = [], 0
        current.append(unit)
        size += len(unit)
    parts.append(b"".join(current))
    return parts


def count_parts(text: str) -> int:
    """How many billed parts an SMS with this text takes (the same count ``encode_parts`` sends)."""
    length, encoding = sms_length(text)
    single, multi = LIMITS[encoding]
    if length <= single:
        return 1
    if length == len(text):  # no two-unit characters: nothing can straddle a part boundary
        return -(-length // multi)
    return len(_split(_units(text, encoding), multi, 1 if encoding == "gsm7" else 2))


def encode_parts(text: str, reference: int | None = None) -> tuple[list[bytes], int, int]:
    """(short_message of each part, data_coding, esm_class) for SMPP submit_sm: GSM-7 unpacked, one
    septet per octet, when the whole text is in the table, else UCS-2 big-endian; a long text gets the
    8-bit concatenation UDH (05 00 03 ref total seq)."""
    encoding = "gsm7" if is_gsm7(text) else "ucs2"
    unit_size = 1 if encoding == "gsm7" else 2
    coding = DATA_CODING_GSM7 if encoding == "gsm7" else DATA_CODING_UCS2
    units = _units(text, encoding)
    single, multi = LIMITS[encoding]
    if sum(len(u) for u in units) <= single * unit_size:
        return [b"".join(units)], coding, 0
    chunks = _split(units, multi, unit_size)
    if len(chunks) > 255:
        raise ValueError("an SMS cannot have more than 255 parts")
    ref = random.randrange(256) if reference is None else reference
    return (
        [bytes((5, 0, 3, ref, len(chunks), n)) + chunk for n, chunk in enumerate(chunks, start=1)],
        coding,
        ESM_CLASS_UDHI,
    )
