"""/healthz and /readyz: which check failed, and the certificates' days left."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from notifications.liveness import acquire_lease, beat
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.integration.console.test_console_routes import Console, password_hash, staff  # noqa: F401
from webapp.app import create_app


async def alive(core: Core, worker_id: str = "till-host:4242") -> None:
    await beat(core, worker_id, "till-host", 4242, core.clock.now())
    assert await acquire_lease(core, worker_id, 30)


def certificate(path: Path, not_after: datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pass Type ID: pass.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


async def test_readyz_names_the_worker_and_the_scheduler_until_they_run(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    async with app_client(create_app(settings, core=core)) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}  # alive, though not ready
        first = await http.get("/readyz")
        assert first.status_code == 503
        body = first.json()
        assert body["failed"] == ["worker", "scheduler"]
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["migrations"]["ok"] is True
        assert "no worker heartbeat" in body["checks"]["worker"]["detail"]
        assert "scheduler lease" in body["checks"]["scheduler"]["detail"]

        await alive(core)
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        assert ready.json()["checks"]["scheduler"]["leader"] == "till-host:4242"

        clock.advance(seconds=61)  # the worker died: no heartbeat, and its lease ran out
        gone = await http.get("/readyz")
        assert gone.status_code == 503
        assert gone.json()["failed"] == ["worker", "scheduler"]
        assert "worker till-host:4242 was last seen 61 s ago" in gone.json()["checks"]["worker"]["detail"]


async def test_readyz_fails_when_migrations_are_behind(core: Core, settings: Settings) -> None:
    await alive(core)
    async with core.sessions() as session, session.begin():
        head = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        async with app_client(create_app(settings, core=core)) as http:
            answer = await http.get("/readyz")
    finally:
        async with core.sessions() as session, session.begin():
            await session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["migrations"]
    assert answer.json()["checks"]["migrations"]["current"] == ["0001"]


async def test_readyz_fails_when_the_database_does_not_answer(settings: Settings, var_dir: Path) -> None:
    nowhere = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none",
        var_dir=var_dir,
        secret_key="test-secret-" + "x" * 32,
        public_url="http://testserver.local",
    )
    async with app_client(create_app(nowhere, core=Core(nowhere))) as http:
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["database", "migrations", "worker", "scheduler"]


@pytest.mark.usefixtures("staff")
async def test_certificates_days_left_warn_under_30_days_in_body_and_console(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    now = core.clock.now()
    configured = settings.model_copy(
        update={
            "wallet": settings.wallet.model_copy(
                update={
                    "apple_cert_file": certificate(tmp_path / "pass.pem", now + timedelta(days=12, hours=1)),
                    "apple_wwdr_file": certificate(tmp_path / "wwdr.pem", now + timedelta(days=400, hours=1)),
                }
            )
        }
    )
    await alive(core)
    async with app_client(create_app(settings, core=core)) as http:
        console = Console(http)
        await console.sign_in("admin@example.com")
        plain = await console.get("/console")
    assert plain.status_code == 200
    assert "banner warning" not in plain.text  # nothing configured, nothing to warn about
    async with app_client(create_app(configured, core=core)) as http:
        answer = await http.get("/readyz")
        console = Console(http)
        await console.sign_in("admin@example.com")
        page = await console.get("/console")
    assert answer.status_code == 200  # a warning, not a failure
    certs = answer.json()["certificates"]
    assert certs["apple_pass"]["days_left"] == 12
    assert certs["apple_pass"]["warning"] is True
    assert certs["apple_wwdr"]["days_left"] == 400
    assert certs["apple_wwdr"]["warning"] is False
    assert any("Apple pass certificate" in w and "12 days left" in w for w in answer.json()["warnings"])
    assert page.status_code == 200
    assert "Apple pass certificate (also used for APNs) expires on" in page.text
    assert "12 days left" in page.text
