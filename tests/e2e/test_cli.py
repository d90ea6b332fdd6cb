"""The `loyalty` command as an operator runs it, in a subprocess against a real database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client, empty_tables
from webapp.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def loyalty(
    settings: Settings, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": "cli-test-" + "k" * 32,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", *args],
        env=environment,
        cwd=ROOT,
        text=True,
        capture_output=True,
        input=stdin,
        timeout=300,
        check=False,
    )


async def test_apikey_create_prints_the_key_last_and_it_works(core: Core, settings: Settings) -> None:
    done = loyalty(settings, "apikey", "create", "till-7")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("lk_")
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as http:
        r = await http.post("/api/v1/members", json={"phone": "+79123456789"})
        assert r.status_code == 201
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key}x") as http:
        assert (await http.get("/api/v1/members", params={"phone": "+79123456789"})).status_code == 401


async def test_jobs_run_due_as_of_is_idempotent(core: Core, settings: Settings, client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/members", json={"phone": "+79123456789"})
    await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": "1",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )
    later = "2027-01-01T00:00:00+03:00"
    first = loyalty(settings, "jobs", "run-due", "--as-of", later)
    assert first.returncode == 0, first.stderr
    assert "activated 1 lots" in first.stdout
    second = loyalty(settings, "jobs", "run-due", "--as-of", later)
    assert "activated 0 lots, expired 0 lots, 0 expiring notices, 0 birthdays, 0 tier changes" in second.stdout
    bad = loyalty(settings, "jobs", "run-due", "--as-of", "tomorrow")
    assert bad.returncode != 0
    assert "--as-of" in bad.stderr


async def test_digest_plans_the_month_once(core: Core, settings: Settings) -> None:
    from tests.integration.marketing.builders import member

    await member(core, 1, consents=("email",), email="one@example.com")
    early = loyalty(settings, "digest", "--as-of", "2027-01-01T12:00:00+03:00")  # day 1: due
    assert early.returncode == 0, early.stderr
    assert "digest 2027-01: 1 members, 1 messages planned" in early.stdout
    again = loyalty(settings, "digest", "--as-of", "2027-01-20T12:00:00+03:00", "--now")
    assert "digest 2027-01: nothing to do" in again.stdout
    bad = loyalty(settings, "digest", "--as-of", "tomorrow")
    assert bad.returncode != 0
    assert "--as-of" in bad.stderr


def write_base(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "phone",
                "card_number",
                "first_name",
                "last_name",
                "email",
                "birth_date",
                "balance",
                "consent_sms",
                "consent_email",
            ]
        )
        for i in range(rows):
            phone = f"8916{i:07d}"
            if i % 500 == 7:
                phone = "12345"  # not a phone
            birth = "1985-02-30" if i % 700 == 3 else "1985-02-14"
            balance = "-5" if i % 900 == 11 else str(i % 300)
            writer.writerow([phone, "", "Имя", "Фамилия", f"user{i}@example.com", birth, balance, "yes", "no"])
            if i == 5:
                writer.writerow(["8916" + "0000001", "", "Dup", "", "", "", "50", "", ""])  # same phone as line 3


async def test_import_streams_a_base_and_reports_rejected_rows(
    core: Core, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/members", json={"phone": "+79160000002"})  # already a member
    source = tmp_path / "base.csv"
    write_base(source, 5000)
    done = loyalty(settings, "import", str(source))
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "base.rejected.csv").read_text(encoding="utf-8")
    rejected = list(csv.DictReader(report.splitlines()))
    reasons = " ".join(row["reason"] for row in rejected)
    assert "not a valid phone" in reasons or "Cannot read" in reasons
    assert "birth_date" in reasons or "day is out of range" in reasons
    assert "balance must be" in reasons
    assert "duplicate of line" in reasons
    assert "already a member" in reasons
    imported = int(done.stdout.split(":")[1].split()[0])
    assert imported + len(rejected) == 5001
    r = await client.get("/api/v1/members", params={"phone": "+79160000010"})
    assert r.json()["balance"]["available"] == 10  # the balance carried over, no welcome bonus


async def test_wrong_settings_stop_the_command_naming_the_key(settings: Settings, tmp_path: Path) -> None:
    bad_url = loyalty(settings, "db", "upgrade", env={"LOYALTY_PUBLIC_URL": "ftp://shop"})
    assert bad_url.returncode != 0
    assert "LOYALTY_PUBLIC_URL" in bad_url.stderr
    broken = tmp_path / "rules.toml"
    broken.write_text(
        'redemption_cap_percent = 170\n[[tiers]]\ncode = "a"\nname = {en = "A"}\nthreshold = 0\naccrual_percent = 5\n',
        encoding="utf-8",
    )
    bad_rules = loyalty(settings, "db", "upgrade", env={"LOYALTY_PROGRAM_FILE": str(broken)})
    assert bad_rules.returncode != 0
    assert "redemption_cap_percent" in bad_rules.stderr
    assert "Traceback" not in bad_rules.stderr


@pytest.fixture(autouse=True)
async def _clean(core: Core) -> None:
    await empty_tables(core)


async def test_staff_create_reads_the_password_from_stdin_and_the_account_signs_in(
    core: Core, settings: Settings
) -> None:
    from shared.staff import authenticate

    done = loyalty(
        settings,
        "staff",
        "create",
        "Mila@Shop.example",
        "--role",
        "marketer",
        "--password-stdin",
        stdin="a long password 1\n",
    )
    assert done.returncode == 0, done.stderr
    assert "mila@shop.example (marketer) created" in done.stdout
    async with core.transaction() as session:
        account = await authenticate(session, core.clock, "mila@shop.example", "a long password 1")
    assert account is not None
    assert account.role == "marketer"
    again = loyalty(
        settings,
        "staff",
        "create",
        "mila@shop.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long password 1\n",
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr
    short = loyalty(settings, "staff", "create", "x@shop.example", "--role", "admin", "--password-stdin", stdin="s\n")
    assert short.returncode != 0
    assert "at least 10 characters" in short.stderr
