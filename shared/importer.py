"""Moving an old discount-card base in: streams a CSV in batches, dedups by phone, keeps balances.

Columns (header row, any order; only phone is required):
phone, card_number, first_name, last_name, email, birth_date (YYYY-MM-DD), balance (points),
consent_sms, consent_viber, consent_email, consent_push, consent_telegram (1/0, yes/no, true/false).
Imported members get no welcome bonus; a given balance becomes an available lot with the
program's expiry. Rejected rows go to a report CSV with the reason.

Both databases read and check the rows here, in Python, in batches of BATCH rows; storing a batch
differs: SQLite inserts it through the ORM, PostgreSQL COPYs it into a staging table and moves it
into members, lots, entries and consents with one INSERT ... SELECT (shared/importer_copy.py).
Either way one batch is one transaction, and a duplicate is reported the same way.

The file should be UTF-8. A row that is not (one saved from Excel as Windows-1251, say), has
control characters or cannot be parsed as CSV is a rejected row with its line number; the rest
goes on. Each batch is committed with its rejections written and flushed, so whatever stops an
import leaves a report of what was done, and running the same file again continues: members
already imported are reported as such and kept as they are.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import secrets
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.cards import is_valid_ean13, new_card_number
from shared.clock import Clock
from shared.csv_export import SafeWriter
from shared.db.models import Consent, Entry, Lot, Member
from shared.errors import InvalidInput
from shared.importer_copy import BatchRefused, copy_batch
from shared.inputs import has_control
from shared.members import EMAIL_RE
from shared.phones import normalize_phone
from shared.program import ProgramRules
from shared.vocabulary import CHANNELS

if TYPE_CHECKING:
    from shared.core import Core

BATCH = 2000
PAUSE = 100  # records parsed between two turns of the event loop
NOT_UTF8 = "not UTF-8 text (save the file as CSV UTF-8); the row was not imported"
TRUE = {"1", "yes", "y", "true", "да", "+"}
FALSE = {"0", "no", "n", "false", "нет", "-", ""}


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    points: int = 0


@dataclass
class _Row:
    line: int
    phone: str
    card: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    birth: date | None
    balance: int
    consents: dict[str, bool]


_SURROGATE = re.compile("[\udc80-\udcff]")
_ODD = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")  # a control character or an undecodable byte


def _undecodable(value: str) -> bool:
    """The CLI reads with errors="surrogateescape": bytes that are not UTF-8 become lone surrogates."""
    return _SURROGATE.search(value) is not None


def shown(value: object) -> str:
    """A cell as the report may show it: undecodable bytes as U+FFFD, no control characters."""
    text = str(value or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(ch if unicodedata.category(ch) != "Cc" else "\ufffd" for ch in text)[:100]


def _parse(line: int, raw: dict[str, Any], rules: ProgramRules) -> _Row:
    for key, value in raw.items():
        if not value or _ODD.search(value) is None:  # one regex for both checks on a clean cell
            continue
        if _undecodable(value):
            raise ValueError(NOT_UTF8)
        if has_control(value):  # the Unicode Cc category, checked by one regex
            raise ValueError(f"{key} contains control characters")

    def text(key: str, limit: int) -> str | None:
        value = (raw.get(key) or "").strip()
        if len(value) > limit:
            raise ValueError(f"{key} longer than {limit} characters")
        return value or None

    phone = normalize_phone(raw.get("phone") or "", rules.phone_region)
    card = text("card_number", 13)
    if card is not None and not is_valid_ean13(card):
        raise ValueError("card_number is not a valid EAN-13")
    email = text("email", 254)
    if email is not None and not EMAIL_RE.match(email):
        raise ValueError("email is not an e-mail address")
    birth = None
    if text("birth_date", 10):
        birth = date.fromisoformat(raw["birth_date"].strip())
        if not date(1900, 1, 1) <= birth <= date.today():  # noqa: DTZ011 - a sanity bound, the server day will do
            raise ValueError("birth_date out of range")
    balance_text = text("balance", 12) or "0"
    if not balance_text.isdigit():
        raise ValueError("balance must be a whole non-negative number of points")
    consents = {}
    for channel in CHANNELS:
        value = (raw.get(f"consent_{channel}") or "").strip().lower()
        if value in TRUE:
            consents[channel] = True
        elif value not in FALSE:
            raise ValueError(f"consent_{channel} must be yes/no")
    return _Row(
        line,
        phone,
        card,
        text("first_name", 100),
        text("last_name", 100),
        email.lower() if email else None,
        birth,
        int(balance_text),
        consents,
    )


def csv_records(source: TextIO) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line of the record, its cells or None, why not) for each non-blank record after the
    header; a record the csv module cannot read, or text that cannot be decoded, is reported, not
    raised. Every CSV import reads its file through this."""
    reader = csv.reader(source)
    last = 1  # file lines consumed: the header row, then 1 + the reader's count
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last + 1, None, f"not readable as CSV: {exc}"
            last = 1 + reader.line_num
            continue
        except UnicodeDecodeError:  # a stream opened strictly: nothing after this point can be read
            yield last + 1, None, NOT_UTF8 + "; the rest of the file could not be read"
            return
        first, last = last + 1, 1 + reader.line_num
        if cells and any(cell.strip() for cell in cells):
            yield first, cells, ""


def _records(source: TextIO, fieldnames: list[str]) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    for first, cells, problem in csv_records(source):
        yield first, None if cells is None else dict(zip(fieldnames, cells, strict=False)), problem


@dataclass
class _Batch:
    rows: list[_Row]
    rejects: list[list[object]]  # rows that could not be read or parsed
    records: int  # non-blank records read for this batch, rejected ones included


async def _batches(
    records: Iterable[tuple[int, dict[str, Any] | None, str]], rules: ProgramRules, size: int = BATCH
) -> AsyncIterator[_Batch]:
    """Parsed batches; every PAUSE records the event loop gets a turn, so the batch before this one
    goes on being stored meanwhile (the database works while Python parses)."""
    batch = _Batch([], [], 0)
    for number, raw, problem in records:
        batch.records += 1
        if batch.records % PAUSE == 0:
            await asyncio.sleep(0)
        try:
            if raw is None:
                raise ValueError(problem)
            batch.rows.append(_parse(number, raw, rules))
        except (InvalidInput, ValueError) as exc:
            reason = exc.detail if isinstance(exc, InvalidInput) else str(exc)
            batch.rejects.append([number, shown((raw or {}).get("phone")), reason])
        if len(batch.rows) >= size:
            yield batch
            batch = _Batch([], [], 0)
    if batch.records:
        yield batch


async def import_members(
    core: Core,
    clock: Clock,
    rules: ProgramRules,
    source: TextIO,
    report_path: Path,
    progress: Callable[[int], None] = lambda _: None,
    *,
    batch_size: int = BATCH,
    copy: bool = True,
) -> ImportReport:
    """Import `source` into the base; rejected rows go to `report_path` as they are decided.

    One batch of `batch_size` rows is one transaction. `copy`: on PostgreSQL, store each batch through
    COPY and INSERT ... SELECT (False: through the ORM, as on SQLite; the outcome is the same)."""
    report = ImportReport()
    try:
        header = next(csv.reader([source.readline()]), [])
    except (csv.Error, UnicodeDecodeError):
        header = []
    fieldnames = [f.strip() for f in header]
    if "phone" not in fieldnames or any(_undecodable(f) for f in fieldnames):
        raise InvalidInput("The CSV needs a UTF-8 header row with at least a 'phone' column.")
    # the report holds phone numbers: readable by its owner only, wherever it is written
    fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
        writer = SafeWriter(out)
        writer.writerow(["line", "phone", "reason"])
        store = _store_copied if copy and core.engine.dialect.name == "postgresql" else _store_batch

        async def stored(batch: _Batch) -> tuple[_Batch, _Stored]:
            return batch, await store(core, clock, rules, batch.rows) if batch.rows else _Stored()

        def written(batch: _Batch, done: _Stored) -> None:
            report.rows += batch.records
            report.imported, report.points = report.imported + done.imported, report.points + done.points
            report.rejected += len(batch.rejects) + len(done.rejects)
            writer.writerows(_in_order(batch.rejects + done.rejects))
            out.flush()  # committed rows and their report go together
            progress(len(batch.rows))

        # One batch is stored (one transaction) while the next one is parsed; never two at once, so
        # a phone in two batches is "already a member" the second time, as when they ran one by one.
        storing: asyncio.Task[tuple[_Batch, _Stored]] | None = None
        try:
            async for batch in _batches(_records(source, fieldnames), rules, batch_size):
                if storing is not None:
                    previous, storing = storing, None
                    written(*await previous)
                storing = asyncio.create_task(stored(batch))
        finally:  # a batch being stored when parsing stops commits (or fails) before we return
            if storing is not None:
                written(*await storing)
    return report


def _in_order(rejects: list[list[object]]) -> list[list[object]]:
    return sorted(rejects, key=lambda reject: int(str(reject[0])))  # by line


@dataclass
class _Stored:
    imported: int = 0
    points: int = 0
    rejects: list[list[object]] = field(default_factory=list)


async def _store_batch(core: Core, clock: Clock, rules: ProgramRules, batch: list[_Row]) -> _Stored:
    """One batch in one transaction through the ORM (SQLite, and PostgreSQL's fallback)."""
    try:
        async with core.transaction() as session:
            return await _store(session, clock.now(), rules, batch)
    except SQLAlchemyError:  # one row the database refuses: store the rest one by one
        return await _store_one_by_one(core, clock, rules, batch)


async def _store_copied(core: Core, clock: Clock, rules: ProgramRules, batch: list[_Row]) -> _Stored:
    """One batch in one transaction through COPY and INSERT ... SELECT (PostgreSQL)."""
    try:
        done = await copy_batch(core, clock.now(), rules, batch)
    except BatchRefused:  # the same fallback as the ORM path: the rows the database takes, one by one
        return await _store_one_by_one(core, clock, rules, batch)
    return _Stored(done.imported, done.points, done.rejects)


async def _store_one_by_one(core: Core, clock: Clock, rules: ProgramRules, batch: list[_Row]) -> _Stored:
    total = _Stored()
    for row in batch:
        try:
            async with core.transaction() as session:
                done = await _store(session, clock.now(), rules, [row])
        except SQLAlchemyError as exc:  # the engine hides parameters: the message names no data
            total.rejects.append([row.line, row.phone, f"the database refused the row ({type(exc).__name__})"])
            continue
        total.imported, total.points = total.imported + done.imported, total.points + done.points
        total.rejects += done.rejects
    return total


async def _store(session: AsyncSession, now: datetime, rules: ProgramRules, batch: list[_Row]) -> _Stored:
    """Insert a batch in the caller's transaction; rejections are returned, written once it commits."""
    outcome = _Stored()
    rejects = outcome.rejects
    seen: dict[str, _Row] = {}
    for row in batch:
        if row.phone in seen:
            rejects.append([row.line, row.phone, f"duplicate of line {seen[row.phone].line}"])
        else:
            seen[row.phone] = row
    phones = list(seen)
    taken = set((await session.execute(select(Member.phone).where(Member.phone.in_(phones)))).scalars())
    cards = [row.card for row in seen.values() if row.card]
    fresh = {phone: new_card_number() for phone in phones}
    taken_cards = set(
        (
            await session.execute(
                select(Member.card_number).where(Member.card_number.in_(cards + list(fresh.values())))
            )
        ).scalars()
    )
    members, lots, entries, consents = [], [], [], []
    expires = now + timedelta(days=rules.expiry_days)
    for phone, row in seen.items():
        if phone in taken:
            rejects.append([row.line, phone, "already a member (existing balance kept)"])
            continue
        member_id = uuid.uuid4()
        card = row.card if row.card and row.card not in taken_cards else fresh[phone]
        while card in taken_cards:  # a random number already given out: draw again
            card = new_card_number()
            if (await session.execute(select(Member.id).where(Member.card_number == card))).first():
                taken_cards.add(card)
        taken_cards.add(card)
        members.append(
            {
                "id": member_id,
                "phone": phone,
                "card_number": card,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "email": row.email,
                "birth_date": row.birth,
                "birth_mmdd": row.birth.month * 100 + row.birth.day if row.birth else None,
                "language": rules.language,
                "tier_code": rules.tiers[0].code,
                "source": "import",
                "available": row.balance,
                "pending": 0,
                "debt": 0,
                "wallet_serial": secrets.token_hex(16),
                "wallet_auth_token": secrets.token_urlsafe(24),
                "created_at": now,
                "updated_at": now,
            }
        )
        if row.balance:
            lots.append(
                {
                    "member_id": member_id,
                    "source": "import",
                    "points": row.balance,
                    "remaining": row.balance,
                    "status": "available",
                    "created_at": now,
                    "available_at": now,
                    "expires_at": expires,
                }
            )
            entries.append(
                {
                    "member_id": member_id,
                    "kind": "adjustment",
                    "points": row.balance,
                    "created_at": now,
                    "available_at": now,
                    "expires_at": expires,
                    "comment": "balance carried over from the previous program",
                }
            )
            outcome.points += row.balance
        consents += [
            {
                "member_id": member_id,
                "channel": channel,
                "granted": granted,
                "changed_at": now,
                "source": "import",
                "method": "import",
            }
            for channel, granted in row.consents.items()
        ]
        outcome.imported += 1
    for model, rows in ((Member, members), (Lot, lots), (Entry, entries), (Consent, consents)):
        if rows:
            await session.execute(insert(model), rows)
    return outcome
