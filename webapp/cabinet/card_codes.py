"""The card's QR code and EAN-13 barcode as small inline SVG (no image requests, crisp on any screen)."""

from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.constants

_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_G = tuple(code.translate(str.maketrans("01", "10"))[::-1] for code in _L)
_R = tuple(code.translate(str.maketrans("01", "10")) for code in _L)
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


@lru_cache(maxsize=1024)
def qr_svg(text: str, label: str) -> str:
    """One <path> of dark modules; a quiet zone of 4 modules as scanners expect."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    path = "".join(f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="{label}" '
        f'shape-rendering="crispEdges" class="qr"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def ean13_modules(number: str) -> str:
    """The 95 modules of an EAN-13 symbol (1 = bar)."""
    if len(number) != 13 or not number.isdigit():
        raise ValueError("EAN-13 needs 13 digits")
    first, left, right = int(number[0]), number[1:7], number[7:]
    bars = "101"
    for digit, parity in zip(left, _PARITY[first], strict=True):
        bars += (_L if parity == "L" else _G)[int(digit)]
    bars += "01010"
    bars += "".join(_R[int(digit)] for digit in right)
    return bars + "101"


@lru_cache(maxsize=1024)
def ean13_svg(number: str, label: str) -> str:
    modules = ean13_modules(number)
    rects, x = [], 0
    while x < len(modules):
        if modules[x] == "1":
            width = len(modules[x:]) - len(modules[x:].lstrip("1"))
            rects.append(f"M{x + 11} 0h{width}v60h-{width}z")
            x += width
        else:
            x += 1
    width = len(modules) + 22
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 60" role="img" aria-label="{label}" '
        f'shape-rendering="crispEdges" class="barcode" preserveAspectRatio="none">'
        f'<rect width="{width}" height="60" fill="#fff"/><path d="{"".join(rects)}" fill="#000"/></svg>'
    )
