"""`loyalty import-stores`: a CSV of stores (code,name,time_zone,address,latitude,longitude) upserted by
code in one transaction, each row checked by shared.stores.parse_store; rejected rows go to a 0600 report."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared.clock import Clock
from shared.csv_export import csv_text
from shared.errors import DomainError, InvalidInput
from shared.files import write_private
from shared.importer import NOT_UTF8, csv_records, shown
from shared.stores import FIELDS, parse_store, save_store

if TYPE_CHECKING:
    from shared.core import Core

REQUIRED = ("code", "name", "time_zone")
MAX_ROWS = 100_000  # a chain has thousands of stores at most; a bigger file is a mistake


@dataclass
class StoreImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


def _undecodable(value: str) -> bool:
    """Read with errors="surrogateescape": bytes that are not UTF-8 became lone surrogates."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _records(source: TextIO, header: list[str]) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """(line, cells by column or None, why not) for each non-blank record."""
    for first, cells, problem in csv_records(source):
        if cells is None:
            yield first, None, problem
        elif len(cells) > len(header):
            yield first, None, f"{len(cells)} cells, the header has {len(header)}"
        elif any(_undecodable(cell) for cell in cells):
            yield first, None, NOT_UTF8
        else:
            yield first, dict(zip(header, cells, strict=False)), ""


def _header(source: TextIO) -> list[str]:
    try:
        header = [f.strip() for f in next(csv.reader([source.readline()]), [])]
    except (csv.Error, UnicodeDecodeError):
        header = []
    unknown = [f for f in header if f not in FIELDS]
    if not set(REQUIRED) <= set(header) or unknown or len(set(header)) != len(header):
        raise InvalidInput(
            f"The CSV needs a UTF-8 header row {','.join(FIELDS)} (address and coordinates may be left out); "
            f"unknown or repeated columns: {', '.join(shown(f) for f in unknown) or 'none'}."
        )
    return header


async def import_stores(
    core: Core, clock: Clock, source: TextIO, report_path: Path, *, actor: str
) -> StoreImportReport:
    """All good rows in one transaction (none if the database refuses any); every rejected row, with its
    line and reasons, in the report (written even when nothing was rejected, so an old one never misleads)."""
    header = _header(source)
    report = StoreImportReport()
    rejects: list[list[object]] = []
    good = []
    seen: dict[str, int] = {}
    for line, cells, why in _records(source, header):
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise InvalidInput(f"More than {MAX_ROWS} rows: split the file.")
        if cells is None:
            rejects.append([line, "", why])
            continue
        try:
            fields = parse_store(cells)
        except DomainError as exc:
            reasons = "; ".join(f"{e.field} {e.message}" for e in exc.errors) or exc.detail
            rejects.append([line, shown(cells.get("code")), reasons])
            continue
        if fields.code in seen:
            rejects.append([line, fields.code, f"code repeats line {seen[fields.code]}"])
            continue
        seen[fields.code] = line
        good.append(fields)
    async with core.transaction() as session:
        for fields in good:
            _, created, changed = await save_store(session, clock, fields, actor=actor)
            if created:
                report.created += 1
            elif changed:
                report.updated += 1
            else:
                report.unchanged += 1
    report.rejected = len(rejects)
    write_private(report_path, csv_text(["line", "code", "reason"], rejects))
    return report


__all__ = ["StoreImportReport", "import_stores"]
