"""Settings errors and the CLI never echo a password, a token or a secret key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import load_settings, mask_url
from shared.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cr3t-pa55word"


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://loyalty:{PASSWORD}@db.internal/loyalty",  # unsupported driver
        f"postgresql+asyncpg://loyalty:{PASSWORD}@db.internal:notaport/loyalty",  # unparsable port
        f"postgresql+asyncpg://loyalty:{PASSWORD}@db.internal:5432/loyalty?x=1&password={PASSWORD}x",
    ],
)
def test_a_bad_database_url_is_named_but_its_password_is_not_shown(tmp_path: Path, url: str) -> None:
    if "x=1" in url:  # a valid URL: break another setting so the message lists the URL's neighbours
        with pytest.raises(ConfigError) as caught:
            load_settings(database_url=url, public_url="ftp://x", var_dir=tmp_path)
        assert PASSWORD not in str(caught.value)
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(database_url=url, var_dir=tmp_path)
    message = str(caught.value)
    assert "LOYALTY_DATABASE_URL" in message
    assert PASSWORD not in message
    assert "db.internal" in message  # the operator still sees which URL is meant


def test_secret_settings_are_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(telegram={"token": PASSWORD, "rate_per_second": -1})
    assert PASSWORD not in str(caught.value)


def test_mask_url_keeps_the_user_host_and_database() -> None:
    assert mask_url(f"postgresql+asyncpg://loyalty:{PASSWORD}@db:5432/app?sslmode=require&password=x") == (
        "postgresql+asyncpg://loyalty:***@db:5432/app?sslmode=require&password=***"
    )
    assert mask_url("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("sqlite+aiosqlite:///var/loyalty.db") == "sqlite+aiosqlite:///var/loyalty.db"


def test_the_cli_does_not_echo_the_password_of_a_bad_database_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(
        LOYALTY_ENV_FILE=os.devnull,
        LOYALTY_VAR_DIR=str(tmp_path),
        LOYALTY_DATABASE_URL=f"postgres://admin:{PASSWORD}@db/loyalty",
    )
    done = subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "LOYALTY_DATABASE_URL" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
