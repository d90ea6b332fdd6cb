"""The one CSV writer for every file we hand out (console reports, promo-code exports, the import's
rejected-rows report): spreadsheet formulas in the data are never run when the file is opened.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`
(OWASP "CSV injection"), so Excel, LibreOffice and Google Sheets show it as text. Every *text* cell
is treated so, "-5" included, because text comes from people (batch names, codes, imported phones).
Numbers we computed ourselves (int, float, Decimal) are written as numbers, negative ones too: a
number cannot hold a formula, and a report's "-120" must stay a number the spreadsheet can sum.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A value fit for a CSV cell: None as empty, numbers as they are, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """csv.writer with every cell through safe_cell."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(header: Iterable[object], rows: Iterable[Iterable[object]], *, lineterminator: str = "\r\n") -> str:
    """A whole CSV as text: the header row, then the rows."""
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


__all__ = ["FORMULA_STARTS", "SafeWriter", "csv_text", "safe_cell"]
