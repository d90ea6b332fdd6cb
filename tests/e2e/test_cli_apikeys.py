"""`loyalty apikey list` and `loyalty apikey revoke NAME`, run as an operator runs them (subprocesses)."""

from __future__ import annotations

from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.e2e.test_cli import loyalty
from webapp.app import create_app


async def test_list_and_revoke_keys_from_the_command_line(core: Core, settings: Settings) -> None:
    created = loyalty(settings, "apikey", "create", "till-9")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert loyalty(settings, "apikey", "create", "backoffice", "--scope", "staff").returncode == 0
    async with app_client(create_app(settings, core=core), Authorization=f"Bearer {key}") as http:
        assert (await http.get("/api/v1/members", params={"phone": "+79123456789"})).status_code != 401

        listed = loyalty(settings, "apikey", "list")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0].split() == ["NAME", "SCOPE", "KEY", "CREATED", "LAST", "USED", "REVOKED"]
        rows = {line.split()[0]: line for line in lines[1:]}
        assert set(rows) == {"till-9", "backoffice"}
        assert key[:10] in rows["till-9"]
        assert key not in listed.stdout  # never the whole key
        assert rows["till-9"].endswith("live")
        assert " - " in rows["backoffice"]  # never used

        revoked = loyalty(settings, "apikey", "revoke", "till-9")
        assert revoked.returncode == 0, revoked.stderr
        assert "revoked 1 API key named 'till-9'" in revoked.stdout
        refused = await http.get("/api/v1/members", params={"phone": "+79123456789"})
        assert refused.status_code == 401  # the very next request, in this already running process

    after = loyalty(settings, "apikey", "list").stdout
    till = next(line for line in after.splitlines() if line.startswith("till-9"))
    assert not till.endswith("live")
    again = loyalty(settings, "apikey", "revoke", "till-9")
    assert again.returncode != 0
    assert "No live API key named 'till-9'" in again.stderr
