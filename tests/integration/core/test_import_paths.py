"""The member import on a CSV with every kind of bad row: the report names each one with its line and
reason (both databases), and on PostgreSQL the COPY path and the ORM path leave the same report and
the same members, lots, ledger entries and consents."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shared.cards import is_valid_ean13
from shared.core import Core
from shared.db.models import Consent, Entry, Lot, Member
from shared.importer import ImportReport, import_members

GIVEN_CARD = "4600000000008"  # a valid EAN-13 the bad file gives twice; the first row keeps it
TAKEN_CARD = "4600000000015"  # held by a member already in the base: the row gets a new number
OTHER_CARD = "4600000000022"  # given twice in one batch
HEADER = "phone,card_number,first_name,last_name,email,birth_date,balance,consent_sms,consent_telegram\n"
EXISTING = HEADER + f"+79160000099,{TAKEN_CARD},Old,Member,,,50,yes,\n"
BAD_ROWS: list[tuple[str, str | None]] = [  # (the record, the reason it is rejected, or None)
    ("89160000001,,Anna,Ivanova,anna@example.com,1990-05-17,300,yes,no", None),
    (f"+7 916 000-00-02,{GIVEN_CARD},Boris,,,,0,,", None),
    ("8 (916) 000-00-01,,Anna,Again,,,10,,", "duplicate of line 2"),
    ("+79160000099,,Old,Again,,,70,,", "already a member (existing balance kept)"),
    (f"89160000003,{TAKEN_CARD},Vera,,,,5,1,1", None),
    (f"89160000004,{GIVEN_CARD},Gleb,,,,7,,yes", None),
    ("12345,,Bad,Phone,,,,,", "'12345' is not a valid phone number."),
    (",,No,Phone,,,,,", "Phone number is missing or too long."),
    ("not a phone,,Bad,,,,,,", "Cannot read 'not a phone' as a phone number."),
    ("89160000005,4600000000000,Bad,Card,,,,,", "card_number is not a valid EAN-13"),
    ("89160000006,,Bad,Mail,not-an-email,,,,", "email is not an e-mail address"),
    ("89160000007,,Bad,Date,,17.05.1990,,,", "Invalid isoformat string: '17.05.1990'"),
    ("89160000008,,Old,Date,,1812-09-07,,,", "birth_date out of range"),
    ("89160000009,,Minus,Balance,,,-5,,", "balance must be a whole non-negative number of points"),
    ("89160000010,,Huge,Balance,,,1234567890123,,", "balance longer than 12 characters"),
    ("89160000011,,Maybe,,,,,perhaps,", "consent_sms must be yes/no"),
    ("89160000012," + "x" * 101 + ",,,,,,,", "card_number longer than 13 characters"),
    ("89160000013,," + "Я" * 101 + ",,,,,,", "first_name longer than 100 characters"),
    ("89160000014,,Bo\x01b,,,,,,", "first_name contains control characters"),
    ("=1+2,,Formula,,,,,,", "Cannot read '=1+2' as a phone number."),
    (f"89160000015,{OTHER_CARD},Last,Good,,2000-02-29,1,no,да", None),
    (f"89160000017,{OTHER_CARD},Same,Card,,,,,", None),  # the same batch: this one gets a new number
]


def bad_file(path: Path) -> dict[int, str]:
    """The bad file, with a blank line and a cp1251 row among them; the expected rejections by line."""
    expected: dict[int, str] = {}
    with path.open("wb") as out:
        out.write(HEADER.encode())
        line = 1
        for record, reason in BAD_ROWS:
            line += 1
            out.write(record.encode() + b"\n")
            if reason:
                expected[line] = reason
            if line == 5:
                line += 2
                out.write(b"\n89160000016,,\xc8\xec\xff,,,,,,\n")  # "Имя" saved as Windows-1251
                expected[line] = "not UTF-8 text (save the file as CSV UTF-8); the row was not imported"
    return expected


async def run_import(core: Core, path: Path, report: Path, *, copy: bool) -> ImportReport:
    rules = await core.current_rules()
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as source:
        return await import_members(core, core.clock, rules, source, report, batch_size=4, copy=copy)


async def imported(core: Core, tmp_path: Path, *, copy: bool) -> tuple[ImportReport, str, dict[str, Any]]:
    """One import of the bad file into a base that already has one member, and what it left."""
    (tmp_path / "existing.csv").write_text(EXISTING, encoding="utf-8")
    await run_import(core, tmp_path / "existing.csv", tmp_path / "existing.rejected.csv", copy=copy)
    bad_file(tmp_path / "bad.csv")
    report = await run_import(core, tmp_path / "bad.csv", tmp_path / "bad.rejected.csv", copy=copy)
    return report, (tmp_path / "bad.rejected.csv").read_text(encoding="utf-8"), await snapshot(core)


async def snapshot(core: Core) -> dict[str, Any]:
    """The imported state without what is random by design (ids, drawn card numbers, wallet secrets)."""
    async with core.reading() as session:
        members = (await session.execute(select(Member).order_by(Member.phone))).scalars().all()
        phone = {m.id: m.phone for m in members}
        lots = (await session.execute(select(Lot))).scalars().all()
        entries = (await session.execute(select(Entry))).scalars().all()
        consents = (await session.execute(select(Consent))).scalars().all()
    return {
        "members": [
            (
                m.phone,
                m.card_number
                if m.card_number in (GIVEN_CARD, TAKEN_CARD, OTHER_CARD)
                else is_valid_ean13(m.card_number),
                m.first_name,
                m.last_name,
                m.email,
                m.birth_date,
                m.birth_mmdd,
                m.language,
                m.tier_code,
                m.source,
                m.available,
                m.pending,
                m.debt,
                m.created_at,
                len(m.wallet_serial),
            )
            for m in members
        ],
        "lots": sorted(
            (phone[lot.member_id], lot.source, lot.points, lot.remaining, lot.status, lot.available_at, lot.expires_at)
            for lot in lots
        ),
        "entries": sorted(
            (phone[e.member_id], e.kind, e.points, e.available_at, e.expires_at, e.comment or "") for e in entries
        ),
        "consents": sorted((phone[c.member_id], c.channel, c.granted, c.source, c.method) for c in consents),
    }


async def test_every_kind_of_bad_row_is_reported_with_its_line_and_reason(core: Core, tmp_path: Path) -> None:
    report, text, state = await imported(core, tmp_path, copy=True)
    expected = bad_file(tmp_path / "expected.csv")
    rows = list(csv.DictReader(text.splitlines()))
    assert [int(row["line"]) for row in rows] == sorted(expected)  # in the order of the file
    assert {int(row["line"]): row["reason"] for row in rows} == expected
    assert (report.rows, report.imported, report.rejected) == (len(BAD_ROWS) + 1, 6, len(expected))
    assert report.points == 300 + 5 + 7 + 1
    cards = {m[0]: m[1] for m in state["members"]}
    assert cards["+79160000002"] == GIVEN_CARD  # first of two rows with this card keeps it
    assert cards["+79160000004"] is True  # the second gets a new valid number
    assert cards["+79160000003"] is True  # a member holds the card it gave
    assert cards["+79160000099"] == TAKEN_CARD
    assert (cards["+79160000015"], cards["+79160000017"]) == (OTHER_CARD, True)
    assert [m[10] for m in state["members"] if m[0] == "+79160000099"] == [50]  # existing balance kept
    assert ("+79160000001", "sms", True, "import", "import") in state["consents"]
    assert ("+79160000015", "telegram", True, "import", "import") in state["consents"]


@pytest.mark.postgres_only
async def test_the_copy_path_and_the_orm_path_give_the_same_result(core: Core, tmp_path: Path) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "orm").mkdir()
    by_copy = await imported(core, tmp_path / "copy", copy=True)
    async with core.transaction() as session:
        for model in (Consent, Entry, Lot, Member):
            await session.execute(model.__table__.delete())
    by_orm = await imported(core, tmp_path / "orm", copy=False)
    assert by_copy[0] == by_orm[0]
    assert by_copy[1] == by_orm[1]
    assert by_copy[2] == by_orm[2]
    assert len(by_copy[2]["members"]) == 7
