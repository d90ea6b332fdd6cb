"""Moving an old discount-card base in: streams a CSV in batches, dedups by phone, keeps balances.

Columns (header row, any order; only phone is required):
phone, card_number, first_name, last_name, email, birth_date (YYYY-MM-DD), balance (points),
consent_sms, consent_viber, consent_email, consent_push, consent_telegram (1/0, yes/no, true/false).
Imported members get no welcome bonus; a given balance becomes an available lot with the
program's expiry. Rejected rows go to a report CSV with the reason.
"""

from __future__ import annotations

import csv
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.cards import is_valid_ean13, new_card_number
from shared.clock import Clock
from shared.db.models import Consent, Entry, Lot, Member
from shared.errors import InvalidInput
from shared.members import CHANNELS, EMAIL_RE
from shared.phones import normalize_phone
from shared.program import ProgramRules

BATCH = 2000
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


def _parse(line: int, raw: dict[str, Any], rules: ProgramRules) -> _Row:
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
        if not date(1900, 1, 1) <= birth <= date.today():
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
    return _Row(line, phone, card, text("first_name", 100), text("last_name", 100),
                email.lower() if email else None, birth, int(balance_text), consents)


def _batches(reader: Iterator[dict[str, Any]], report: ImportReport, rejects: Any,
             rules: ProgramRules) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for number, raw in enumerate(reader, start=2):
        report.rows += 1
        try:
            batch.append(_parse(number, raw, rules))
        except (InvalidInput, ValueError) as exc:
            reason = exc.detail if isinstance(exc, InvalidInput) else str(exc)
            rejects.writerow([number, raw.get("phone", ""), reason])
            report.rejected += 1
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_members(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    rules: ProgramRules,
    source: TextIO,
    report_path: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(source)
    if reader.fieldnames is None or "phone" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("The CSV needs a header row with at least a 'phone' column.")
    reader.fieldnames = [f.strip() for f in reader.fieldnames]
    with report_path.open("w", newline="", encoding="utf-8") as out:
        rejects = csv.writer(out)
        rejects.writerow(["line", "phone", "reason"])
        for batch in _batches(reader, report, rejects, rules):
            async with sessions() as session, session.begin():
                await _store(session, clock.now(), rules, batch, rejects, report)
            progress(len(batch))
    return report


async def _store(session: AsyncSession, now: datetime, rules: ProgramRules, batch: list[_Row],
                 rejects: Any, report: ImportReport) -> None:
    seen: dict[str, _Row] = {}
    for row in batch:
        if row.phone in seen:
            rejects.writerow([row.line, row.phone, f"duplicate of line {seen[row.phone].line}"])
            report.rejected += 1
        else:
            seen[row.phone] = row
    phones = list(seen)
    taken = set((await session.execute(select(Member.phone).where(Member.phone.in_(phones)))).scalars())
    cards = [row.card for row in seen.values() if row.card]
    fresh = {phone: new_card_number() for phone in phones}
    taken_cards = set((await session.execute(
        select(Member.card_number).where(Member.card_number.in_(cards + list(fresh.values()))))).scalars())
    members, lots, entries, consents = [], [], [], []
    expires = now + timedelta(days=rules.expiry_days)
    for phone, row in seen.items():
        if phone in taken:
            rejects.writerow([row.line, phone, "already a member (existing balance kept)"])
            report.rejected += 1
            continue
        member_id = uuid.uuid4()
        card = row.card if row.card and row.card not in taken_cards else fresh[phone]
        while card in taken_cards:  # a random number already given out: draw again
            card = new_card_number()
            if (await session.execute(select(Member.id).where(Member.card_number == card))).first():
                taken_cards.add(card)
        taken_cards.add(card)
        members.append({
            "id": member_id, "phone": phone, "card_number": card, "first_name": row.first_name,
            "last_name": row.last_name, "email": row.email, "birth_date": row.birth,
            "birth_mmdd": row.birth.month * 100 + row.birth.day if row.birth else None,
            "language": rules.language, "tier_code": rules.tiers[0].code, "registration_channel": "import",
            "available": row.balance, "pending": 0, "debt": 0, "wallet_serial": secrets.token_hex(16),
            "wallet_auth_token": secrets.token_urlsafe(24), "created_at": now, "updated_at": now,
        })
        if row.balance:
            lots.append({"member_id": member_id, "source": "import", "points": row.balance,
                         "remaining": row.balance, "status": "available", "created_at": now,
                         "available_at": now, "expires_at": expires})
            entries.append({"member_id": member_id, "kind": "adjustment", "points": row.balance,
                            "created_at": now, "available_at": now, "expires_at": expires,
                            "comment": "balance carried over from the previous program"})
            report.points += row.balance
        consents += [{"member_id": member_id, "channel": channel, "granted": granted, "changed_at": now,
                      "source": "import", "method": "import"} for channel, granted in row.consents.items()]
        report.imported += 1
    for model, rows in ((Member, members), (Lot, lots), (Entry, entries), (Consent, consents)):
        if rows:
            await session.execute(insert(model), rows)
