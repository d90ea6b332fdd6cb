"""`loyalty import-stores`: good rows upserted by code, bad ones in a 0600 report under var/ with their line
and the same field messages as the console and the API; formulas neutralised; a rerun updates, not duplicates."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from shared.audit import recent
from shared.config import Settings
from shared.core import Core
from shared.db.models import Store
from tests.e2e.test_cli import loyalty

HEADER = b"code,name,time_zone,address,latitude,longitude\n"
GOOD = [
    "msk-001,Москва Тверская,Europe/Moscow,Тверская 7,55.7601,37.6132\n",
    "nsk-001,Новосибирск,Asia/Novosibirsk,,,\n",
]


async def _stores(core: Core) -> dict[str, Store]:
    async with core.reading() as session:
        return {s.id: s for s in (await session.execute(select(Store))).scalars()}


async def test_rows_are_upserted_and_rejects_reported(core: Core, settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "stores.csv"
    with source.open("wb") as out:
        out.write(HEADER)
        for row in GOOD:
            out.write(row.encode())
        out.write(b"=cmd|' /C calc'!A0,Evil,Europe/Moscow,,,\n")  # line 4
        out.write(b"spb-001,Piter,Mars/Olympus,,91,30\n")  # line 5: two reasons
        out.write("ekb-001,Екатеринбург,Asia/Yekaterinburg,,,\n".encode("cp1251"))  # line 6
        out.write(b"msk-001,Again,Europe/Moscow,,,\n")  # line 7: repeats line 2
        out.write(b"kzn-001,Kazan,Europe/Moscow,,55.79,\n")  # line 8: one coordinate
    run = loyalty(settings, "import-stores", str(source))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "7 rows: 2 created, 0 updated, 0 unchanged, 5 rejected" in run.stdout
    report_path = settings.var_dir / "imports" / "stores.rejected.csv"
    assert report_path.stat().st_mode & 0o777 == 0o600
    report = list(csv.DictReader(report_path.read_text(encoding="utf-8").splitlines()))
    assert [r["line"] for r in report] == ["4", "5", "6", "7", "8"]
    assert report[0]["code"].startswith("'=")  # neutralised for a spreadsheet
    assert "time_zone unknown IANA time zone" in report[1]["reason"]
    assert "latitude must be from -90 to 90" in report[1]["reason"]
    assert "UTF-8" in report[2]["reason"]
    assert "repeats line 2" in report[3]["reason"]
    assert "both coordinates" in report[4]["reason"]
    stores = await _stores(core)
    assert sorted(stores) == ["msk-001", "nsk-001"]
    assert stores["msk-001"].latitude == 55.7601
    assert stores["nsk-001"].time_zone == "Asia/Novosibirsk"

    source.write_bytes(HEADER + GOOD[0].replace("Москва Тверская", '"Москва, Тверская 7"').encode() + GOOD[1].encode())
    again = loyalty(settings, "import-stores", str(source))
    assert again.returncode == 0, again.stderr
    assert "2 rows: 0 created, 1 updated, 1 unchanged, 0 rejected" in again.stdout
    assert (await _stores(core))["msk-001"].name == "Москва, Тверская 7"
    async with core.reading() as session:
        audit = await recent(session, target=("store", "msk-001"))
    assert [e.action for e in audit] == ["store_updated", "store_created"]
    assert audit[0].actor.startswith("cli:")


async def test_a_file_without_the_header_changes_nothing(core: Core, settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("id,title\nmsk-001,Moscow\n", encoding="utf-8")
    run = loyalty(settings, "import-stores", str(source))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "header" in run.stderr
    assert await _stores(core) == {}
