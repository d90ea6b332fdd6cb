"""The compose file and the image have none of the traps issue 14 names: migrations are one step the
others wait for, every service has a check that fits it, and the worker inherits no web health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]


def test_migrate_runs_once_and_the_processes_wait_for_it() -> None:
    services = compose()
    assert services["migrate"]["command"] == ["loyalty", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "bot"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert services[name]["restart"] == "unless-stopped"
        assert "db" not in services[name]["command"]  # nobody else migrates
    assert services["bot"]["profiles"] == ["polling"]


def test_each_service_has_the_health_check_that_fits_it() -> None:
    services = compose()
    checks = {
        name: " ".join(service["healthcheck"]["test"]) for name, service in services.items() if "healthcheck" in service
    }
    assert "/healthz" in checks["web"]
    assert checks["worker"] == "CMD loyalty worker --check"
    assert "/healthz" not in checks["worker"]
    assert "/healthz" not in checks["bot"]
    assert "/proc/1" in checks["bot"]
    assert "pg_isready" in checks["postgres"]
    assert "redis-cli ping" in checks["redis"]
    assert "migrate" not in checks


def test_the_image_runs_unprivileged_without_a_health_check_or_migrations() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert not any(line.startswith("HEALTHCHECK") for line in instructions)
    users = [line for line in instructions if line.startswith("USER ")]
    assert users
    assert not users[-1].split()[1].startswith(("root", "0"))
    (cmd,) = [line for line in instructions if line.startswith("CMD ")]
    assert "upgrade" not in cmd
    assert "serve" in cmd
