"""A fresh var/ made by the `loyalty` command and the processes' first use is private from the
first byte: directories 0700, every file 0600 (the signing secret, the SQLite database and its
WAL files, the message log with codes and phone numbers, dev keys), even under a loose umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from tests.e2e.test_cli import ROOT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o002)  # group- and world-readable by default: only explicit modes keep files private
    yield
    os.umask(old)


def cli(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_VAR_DIR"] = str(var)
    env["LOYALTY_ENV_FILE"] = os.devnull  # a developer's .env must not change the test
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


def modes(var: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(var.stat().st_mode)}
    for path in var.rglob("*"):
        found[str(path.relative_to(var))] = stat.S_IMODE(path.stat().st_mode)
    return found


def assert_private(var: Path) -> None:
    for name, mode in modes(var).items():
        expected = 0o700 if (var / name).is_dir() else 0o600
        assert mode == expected, f"{name} is {oct(mode)}"


async def test_a_fresh_var_dir_is_private_from_the_first_byte(tmp_path: Path, loose_umask: None) -> None:
    from notifications.channels.base import OutgoingMessage
    from notifications.channels.log import LogChannel
    from notifications.vapid_keys import load_vapid
    from shared.core import Core
    from wallet.dev_certs import ensure_dev_chain
    from wallet.google_keys import ensure_dev_service_account

    var = tmp_path / "srv" / "var"
    done = cli(var, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert (var / "loyalty.db").exists()
    assert_private(var)
    done = cli(var, "apikey", "create", "till-1")
    assert done.returncode == 0, done.stderr
    assert_private(var)

    settings = Settings(
        var_dir=var, database_url="", secret_key=None
    )  # the defaults a first run gets: SQLite and the secret in var/
    assert len(settings.secret) > 40
    ensure_dev_chain(settings)
    ensure_dev_service_account(settings)
    load_vapid(settings)
    channel = LogChannel("sms", var / "messages.jsonl")
    await channel.send(OutgoingMessage(id=1, to="+79123456789", text="Код: 123456", channel="sms", kind="login_code"))
    core = Core(settings)
    try:
        async with core.transaction() as session:
            from sqlalchemy import text

            await session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        assert (var / "loyalty.db-wal").exists()
        assert_private(var)  # -wal and -shm included, while the connection is live
    finally:
        await core.close()
    for name in (
        "secret.key",
        "loyalty.db",
        "messages.jsonl",
        "vapid.json",
        "wallet/dev-pass-key.pem",
        "wallet/google-dev-service-account.json",
    ):
        assert (var / name).exists(), name
    assert_private(var)


def test_an_existing_loose_var_dir_and_secret_are_tightened(tmp_path: Path, loose_umask: None) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    (var / "secret.key").write_text("old-secret-" + "x" * 40, encoding="utf-8")
    os.chmod(var / "secret.key", 0o644)
    done = cli(var, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert Settings(var_dir=var, database_url="", secret_key=None).secret == "old-secret-" + "x" * 40
    assert_private(var)
