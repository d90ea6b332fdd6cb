"""`loyalty import` on a file with a row in another encoding: that row is rejected with its line
number, everything else is imported, and running the same file again continues where it was."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from tests.e2e.test_cli import loyalty

ROWS = 2500
BAD = 2100  # the 2,100th member: past the first committed batch of 2,000


def _row(i: int) -> str:
    return f"8916{i:07d},Имя{i},Фамилия,{i % 100}\n"


def write_file(path: Path, bad_encoding: str = "cp1251") -> int:
    """A UTF-8 file with one row saved as cp1251; returns the line of that row."""
    with path.open("wb") as out:
        out.write(b"phone,first_name,last_name,balance\n")
        for i in range(ROWS):
            out.write(_row(i).encode(bad_encoding if i == BAD else "utf-8"))
    return BAD + 2


def _summary(stdout: str) -> tuple[int, int]:
    numbers = stdout.strip().splitlines()[-1].split()
    return int(numbers[2]), int(numbers[numbers.index("rejected") - 1])  # imported, rejected


async def _members(core: Core) -> int:
    async with core.reading() as session:
        return int((await session.execute(select(func.count()).select_from(Member))).scalar_one())


async def test_a_row_in_another_encoding_is_a_rejected_row_and_a_rerun_continues(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "base.csv"
    line = write_file(source)
    first = loyalty(settings, "import", str(source))
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert _summary(first.stdout) == (ROWS - 1, 1)
    report = list(csv.DictReader((tmp_path / "base.rejected.csv").read_text(encoding="utf-8").splitlines()))
    assert [(r["line"], r["phone"]) for r in report] == [(str(line), f"8916{BAD:07d}")]
    assert "UTF-8" in report[0]["reason"]
    assert (tmp_path / "base.rejected.csv").stat().st_mode & 0o777 == 0o600  # it holds phone numbers
    assert await _members(core) == ROWS - 1

    again = loyalty(settings, "import", str(source))  # the same file again: nothing twice, no crash
    assert again.returncode == 0, again.stderr
    assert _summary(again.stdout) == (0, ROWS)
    assert await _members(core) == ROWS - 1

    write_file(source, bad_encoding="utf-8")  # the operator fixes the row and runs it once more
    fixed = loyalty(settings, "import", str(source))
    assert fixed.returncode == 0, fixed.stderr
    assert _summary(fixed.stdout) == (1, ROWS - 1)
    assert await _members(core) == ROWS
    async with core.reading() as session:
        name = (await session.execute(select(Member.first_name).where(Member.phone == f"+7916{BAD:07d}"))).scalar_one()
    assert name == f"Имя{BAD}"


async def test_control_characters_and_unreadable_records_are_rejected_rows(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "odd.csv"
    source.write_text(
        "phone,first_name\n89160000001,Anna\n89160000002,Bo\x00b\n89160000003," + "x" * 200_000 + "\n"
        "89160000004,\"=cmd|' /C calc'!A0\"\n=1+2,Eve\n",
        encoding="utf-8",
    )
    done = loyalty(settings, "import", str(source))
    assert done.returncode == 0, done.stderr
    report = list(csv.DictReader((tmp_path / "odd.rejected.csv").read_text(encoding="utf-8").splitlines()))
    by_line = {r["line"]: r for r in report}
    assert set(by_line) == {"3", "4", "6"}
    assert "control characters" in by_line["3"]["reason"]
    assert "CSV" in by_line["4"]["reason"]
    assert by_line["6"]["phone"] == "'=1+2"  # the report is a CSV too: no formula in it
    assert await _members(core) == 2
