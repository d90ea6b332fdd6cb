"""The PostgreSQL batch statement of a campaign is generated from the campaign kind's routing
policy (routing.checks_for), so it cannot drift from the Python path's rules, and nothing of it
rests on asserts that `python -O` would drop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.campaigns import sql
from notifications.routing import POLICIES, KindPolicy, checks_for

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fresh_statements() -> Iterator[None]:
    sql.statement.cache_clear()
    yield
    sql.statement.cache_clear()


def test_each_routing_check_of_the_policy_is_in_the_statement(fresh_statements: None) -> None:
    statement = sql.statement(("telegram", "sms"))
    assert checks_for(sql.KIND) == ("addressed", "reachable", "consented", "under_cap")
    for ch, address in (("telegram", "telegram"), ("sms", "phone")):
        assert (
            f"WHEN x.{address} IS NOT NULL AND NOT '{ch}' = ANY(coalesce(d.channels, '{{}}')) "
            f"AND '{ch}' = ANY(g.channels) AND NOT '{ch}' = ANY(coalesce(c.channels, '{{}}'))"
        ) in statement
    assert "LEFT JOIN granted g" in statement
    assert "LEFT JOIN capped c" in statement
    assert "'campaign', true," in statement
    assert "{" + "pick}" not in statement
    assert "{" + "facts}" not in statement


def test_a_policy_without_consent_or_cap_drops_those_tests(
    fresh_statements: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        POLICIES, sql.KIND, KindPolicy(quiet_hours=True, promotional=False, needs_consent=False, email_alongside=False)
    )
    statement = sql.statement(("sms",))
    assert "g.channels" not in statement
    assert "granted" not in statement
    assert "c.channels" not in statement
    assert "capped" not in statement
    assert "'campaign', false," in statement


def test_a_routing_check_without_sql_is_refused(fresh_statements: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sql.SQL_TESTS, "consented")
    with pytest.raises(NotImplementedError, match="consented"):
        sql.statement(("sms",))


def test_the_campaigns_package_imports_under_python_O() -> None:
    done = subprocess.run(
        [sys.executable, "-O", "-c", "import notifications.campaigns, notifications.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
