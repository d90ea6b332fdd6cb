"""Operations as an operator sees them: `loyalty serve` and `loyalty worker` as real processes on a
temporary SQLite database. /readyz turns 503 naming the worker once it dies, /metrics shows the
outbox filling while it is gone and draining after it is back, `loyalty worker --check` agrees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ops-metrics-" + "t" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}",
        "LOYALTY_VAR_DIR": str(tmp_path / "var"),
        "LOYALTY_SECRET_KEY": "ops-test-" + "s" * 32,
        "LOYALTY_METRICS_TOKEN": TOKEN,
        "LOYALTY_HEARTBEAT_MAX_AGE_SECONDS": "3",
        "LOYALTY_NOTIFY_HEARTBEAT_SECONDS": "0.5",
        "LOYALTY_NOTIFY_LEADER_RENEW_SECONDS": "0.5",
        "LOYALTY_NOTIFY_LEADER_LEASE_SECONDS": "2",
        "LOYALTY_LOG_FORMAT": "json",
    }


def loyalty(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [sys.executable, "-m", "loyalty.cli", *args], env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def wait_for(what: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = what()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(message)


def metric(http: httpx.Client, name: str) -> float:
    text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[Any]]]:
    started: list[subprocess.Popen[Any]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_readyz_follows_the_worker_and_metrics_follow_the_outbox(
    env: dict[str, str], tmp_path: Path, processes: list[subprocess.Popen[Any]]
) -> None:
    assert loyalty(env, "db", "upgrade").returncode == 0
    key = loyalty(env, "apikey", "create", "till").stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "processes.log"
    processes.append(start(env, "serve", "--port", str(port), log=log))
    worker = start(env, "worker", log=log)
    processes.append(worker)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        wait_for(lambda: http.get("/readyz").status_code == 200, 60, "never ready: " + log.read_text())
        assert loyalty(env, "worker", "--check").returncode == 0

        worker.send_signal(signal.SIGKILL)  # the worker dies without a word
        worker.wait(timeout=10)
        started = time.monotonic()
        down = wait_for(
            lambda: (r := http.get("/readyz")).status_code == 503 and "worker" in r.json()["failed"] and r,
            15,
            "/readyz never named the worker after it died",
        )
        assert time.monotonic() - started < 3 + 2  # within the heartbeat window (3 s here, 60 s by default)
        assert f":{worker.pid} was last seen" in down.json()["checks"]["worker"]["detail"]
        check = loyalty(env, "worker", "--check")
        assert check.returncode == 1
        assert f":{worker.pid}" in check.stdout

        before = metric(http, "loyalty_outbox_events_pending")
        for n in range(3):
            assert http.post("/api/v1/members", json={"phone": f"+7912345678{n}"}).status_code == 201
        assert metric(http, "loyalty_outbox_events_pending") == before + 3  # piling up while no worker runs

        metrics_port = free_port()
        processes.append(start({**env, "LOYALTY_NOTIFY_METRICS_PORT": str(metrics_port)}, "worker", log=log))
        wait_for(lambda: http.get("/readyz").status_code == 200, 30, "not ready again: " + log.read_text())
        wait_for(lambda: metric(http, "loyalty_outbox_events_pending") == 0, 30, "the outbox never drained")
        assert metric(http, "loyalty_outbox_messages") == 0 or wait_for(
            lambda: metric(http, "loyalty_outbox_messages") == 0, 30, "messages never left"
        )
        own = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text  # the worker's own port
        assert "loyalty_scheduler_leader 1.0" in own
