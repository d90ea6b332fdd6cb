"""A PostgreSQL cluster of the fault tests' own (Debian's pg_createcluster, on a free port, trust auth on
loopback), so they can restart it and kill -9 its postmaster without touching the suite's server.

Created once per session, dropped with `pg_dropcluster --stop` at the end. These tests run on PostgreSQL
only (marked `postgres_only`); there, a cluster that cannot be created FAILS the tests, it never skips them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from shared.apikeys import create_api_key
from shared.config import Settings
from shared.core import Core
from shared.db.migrate import upgrade
from tests.conftest import empty_tables
from tests.e2e.faults.peers import PEERS, FaultPeer, PostfixFaultPeer, running_peer
from tests.peers.postfix import Postfix, running_postfix
from tests.stubs.serving import free_port

ROOT = Path(__file__).resolve().parents[3]
PREFIX = "loyfaults"  # cluster names: loyfaults<pid of the pytest process>


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Cluster:
    version: str
    name: str
    port: int

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/loyalty"

    def ctl(self, action: str) -> subprocess.CompletedProcess[str]:
        return _run("pg_ctlcluster", self.version, self.name, action)

    def postmaster_pid(self) -> int:
        lines = Path(f"/var/lib/postgresql/{self.version}/{self.name}/postmaster.pid").read_text().splitlines()
        return int(lines[0])

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, within: float = 30) -> None:
        """Start it, retrying while the killed postmaster's lock files still name a live (or unreaped) pid."""
        deadline = time.monotonic() + within
        while True:
            done = self.ctl("start")
            if done.returncode == 0 or "already running" in done.stdout + done.stderr:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster {self.name} did not start: {(done.stdout + done.stderr)[-2000:]}")
            time.sleep(0.3)
        self.wait_ready(within)

    def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if _run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), timeout=10).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster {self.name} not ready after {within} s")

    def restart(self) -> None:
        done = self.ctl("restart")
        if done.returncode != 0:
            raise RuntimeError(f"restart failed: {done.stderr[-2000:]}")
        self.wait_ready()

    def kill_postmaster(self) -> None:
        """SIGKILL the postmaster; its backends notice and exit. Returns when the port refuses."""
        os.kill(self.postmaster_pid(), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while self.answers() and time.monotonic() < deadline:
            time.sleep(0.05)


def _stale_clusters(version: str) -> list[str]:
    """Clusters left by an earlier run of these tests whose pytest process is gone."""
    names = []
    for line in _run("pg_lsclusters", "--no-header").stdout.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == version and (m := re.fullmatch(PREFIX + r"(\d+)", fields[1])):
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:
                names.append(fields[1])
    return names


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    versions = sorted((p.name for p in Path("/etc/postgresql").iterdir() if p.name.isdigit()), key=int)
    assert versions, "no PostgreSQL version under /etc/postgresql (postgresql-common and a server are needed)"
    version = versions[-1]
    for stale in _stale_clusters(version):
        _run("pg_dropcluster", "--stop", version, stale)
    made = Cluster(version, f"{PREFIX}{os.getpid()}", free_port())
    created = _run(
        "pg_createcluster",
        version,
        made.name,
        "--port",
        str(made.port),
        "-o",
        "fsync=off",  # a test cluster: kill -9 of the postmaster is survived without it (the OS keeps the pages)
        "-o",
        "max_connections=200",
        "--",
        "--auth=trust",  # local and 127.0.0.1/::1 trust, like the suite's own server
    )
    if created.returncode != 0:
        pytest.fail(f"pg_createcluster failed ({created.returncode}): {created.stderr[-3000:]}")
    try:
        made.start()
        yield made
    finally:
        _run("pg_dropcluster", "--stop", version, made.name)


@pytest.fixture(scope="session")
async def fault_database(cluster: Cluster) -> str:
    conn = await asyncpg.connect(cluster.admin_dsn)
    try:
        await conn.execute("CREATE DATABASE loyalty")
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, cluster.url, "heads")
    return cluster.url


@pytest.fixture
def fault_settings(fault_database: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=fault_database,
        var_dir=tmp_path / "var",
        secret_key="faults-secret-" + "x" * 32,
        public_url="http://testserver.local",
    )


@pytest.fixture
async def fault_core(fault_settings: Settings, cluster: Cluster) -> AsyncIterator[Core]:
    """A core on the private cluster with the real clock (the processes under test use theirs)."""
    cluster.start()  # a test that failed half way may have left it down
    core = Core(fault_settings)
    await empty_tables(core)
    yield core
    await core.close()


@pytest.fixture(scope="session")
def fault_postfix() -> Iterator[Postfix]:
    with running_postfix(users=(PostfixFaultPeer.user,)) as server:
        yield server


@pytest.fixture(params=PEERS)
async def peer(request: pytest.FixtureRequest, fault_settings: Settings) -> AsyncIterator[FaultPeer]:
    """Each real peer in turn (tests/e2e/faults/peers.py); Postfix is started once, when first needed."""
    postfix = request.getfixturevalue("fault_postfix") if request.param == "postfix" else None
    async with running_peer(request.param, fault_settings, postfix) as made:
        yield made


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": settings.secret,
        "LOYALTY_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def sms_env(stub_port: int, **extra: str) -> dict[str, str]:
    return {
        "LOYALTY_SMS_PROVIDER": "smsc",
        "LOYALTY_SMS_API_URL": f"http://127.0.0.1:{stub_port}",
        "LOYALTY_SMS_LOGIN": "shop",
        "LOYALTY_SMS_PASSWORD": "secret",
        "LOYALTY_SMS_RATE_PER_SECOND": "1000000",
        **extra,
    }


class Processes:
    """Subprocesses of one test, each logging to a file; terminated (then killed) at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=log
            )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    yield started
    started.stop_all()


async def wait_until(predicate: Callable[[], Any], seconds: float, message: str) -> Any:
    """Poll an async predicate until it returns something true; fail with `message` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = await predicate()
        except (httpx.HTTPError, OSError, DBAPIError):  # our own pool meets the restart too, once
            found = None
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(message)


async def stub_stats(http: httpx.AsyncClient, port: int) -> dict[str, Any]:
    return (await http.get(f"http://127.0.0.1:{port}/_stub/stats", timeout=5)).json()  # type: ignore[no-any-return]


async def new_api_key(core: Core) -> str:
    async with core.transaction() as session:
        return await create_api_key(session, core.clock, "fault-till", scope="staff")
