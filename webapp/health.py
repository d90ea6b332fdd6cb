"""Liveness and readiness.

/healthz: the process answers. /readyz: 200 only when the database answers, its migrations are at
head, a worker has sent a heartbeat recently and a scheduler leader holds the lease; otherwise 503
naming the failed checks. Days left on the configured Apple certificates ride along (a warning
under LOYALTY_CERT_WARNING_DAYS, also in /metrics and as a banner in the console)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from litestar import Response, get
from sqlalchemy import text

from notifications.liveness import heartbeats, lease_holder
from shared.config import Settings
from shared.core import Core
from webapp.api.errors import RETRY_AFTER
from webapp.deps import CoreDep, SettingsDep


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@dataclass(frozen=True)
class CertificateState:
    name: str
    file: str
    expires_at: datetime | None
    days_left: int | None
    error: str | None = None

    def warning(self, settings: Settings) -> bool:
        return self.error is not None or (self.days_left is not None and self.days_left < settings.cert_warning_days)

    def as_json(self, settings: Settings) -> dict[str, Any]:
        return {
            "file": self.file,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "days_left": self.days_left,
            "warning": self.warning(settings),
            "error": self.error,
        }


@cache
def _not_after(path: str, mtime: float) -> datetime:
    certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
    return certificate.not_valid_after_utc


def certificates(settings: Settings, now: datetime | None = None) -> list[CertificateState]:
    """The configured Apple certificates: the pass type certificate (APNs pushes authenticate with
    the same one, so its expiry is APNs' too) and Apple's WWDR intermediate. A development chain
    generated under var/ is not configured and not reported."""
    now = now or datetime.now(UTC)
    found = []
    for name, path in (
        ("apple_pass", settings.wallet.apple_cert_file),
        ("apple_wwdr", settings.wallet.apple_wwdr_file),
    ):
        if path is None:
            continue
        try:
            expires = _not_after(str(path), path.stat().st_mtime)
        except (OSError, ValueError) as exc:
            found.append(CertificateState(name, str(path), None, None, f"cannot read the certificate: {exc}"))
            continue
        found.append(CertificateState(name, str(path), expires, (expires - now).days))
    return found


def certificate_warnings(settings: Settings, now: datetime | None = None) -> list[str]:
    """Sentences for the console banner; empty when nothing is near expiry."""
    lines = []
    for state in certificates(settings, now):
        if not state.warning(settings):
            continue
        label = {
            "apple_pass": "Apple pass certificate (also used for APNs)",
            "apple_wwdr": "Apple WWDR certificate",
        }.get(state.name, state.name)
        if state.error:
            lines.append(f"{label}: {state.error}")
        elif state.days_left is not None and state.days_left < 0:
            lines.append(f"{label} expired on {state.expires_at:%Y-%m-%d}: Wallet cards cannot be signed or pushed.")
        else:
            lines.append(f"{label} expires on {state.expires_at:%Y-%m-%d} ({state.days_left} days left).")
    return lines


@cache
def _head_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from shared.db.migrate import MIGRATIONS

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


async def _check_database(core: Core) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        # a bare session on purpose: this probe must answer before the migrations made the tables that
        # core.reading() looks at for the program rules
        async with core.sessions() as session:
            await session.execute(text("SELECT 1"))
            versions = set((await session.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    except Exception as exc:
        failed = {"ok": False, "detail": f"the database does not answer: {type(exc).__name__}"}
        return failed, {"ok": False, "detail": "unknown: the database does not answer"}
    heads = set(await asyncio.to_thread(_head_revisions))
    migrations: dict[str, Any] = {"ok": versions == heads, "current": sorted(versions), "head": sorted(heads)}
    if versions != heads:
        migrations["detail"] = "the database is not at the latest migration: run `loyalty db upgrade`"
    return {"ok": True}, migrations


async def _check_worker(core: Core, settings: Settings) -> dict[str, Any]:
    now = core.clock.now()
    window = settings.heartbeat_max_age_seconds
    beats = await heartbeats(core)
    alive = [b for b in beats if (now - b.last_seen).total_seconds() <= window]
    if alive:
        return {"ok": True, "workers": [b.worker_id for b in alive]}
    if not beats:
        return {"ok": False, "detail": f"no worker heartbeat within {window:g} s: no worker has ever run"}
    last = beats[0]
    age = (now - last.last_seen).total_seconds()
    return {
        "ok": False,
        "worker": last.worker_id,
        "last_seen": last.last_seen.isoformat(),
        "detail": f"no worker heartbeat within {window:g} s: worker {last.worker_id} was last seen {age:.0f} s ago",
    }


async def _check_scheduler(core: Core) -> dict[str, Any]:
    held = await lease_holder(core)
    if held is None:
        return {"ok": False, "detail": "no worker holds the scheduler lease: due jobs and campaigns do not run"}
    return {"ok": True, "leader": held[0], "expires_at": held[1].isoformat()}


async def readiness(core: Core, settings: Settings) -> dict[str, Any]:
    database, migrations = await _check_database(core)
    checks: dict[str, Any] = {"database": database, "migrations": migrations}
    if database["ok"]:
        try:
            checks["worker"] = await _check_worker(core, settings)
            checks["scheduler"] = await _check_scheduler(core)
        except Exception as exc:  # e.g. migrations behind: the tables are missing
            detail = f"cannot read the liveness tables: {type(exc).__name__}"
            checks["worker"] = {"ok": False, "detail": detail}
            checks["scheduler"] = {"ok": False, "detail": detail}
    else:
        checks["worker"] = checks["scheduler"] = {"ok": False, "detail": "unknown: the database does not answer"}
    certs = certificates(settings, core.clock.now())
    failed = [name for name, check in checks.items() if not check["ok"]]
    return {
        "status": "ready" if not failed else "unavailable",
        "failed": failed,
        "checks": checks,
        "certificates": {c.name: c.as_json(settings) for c in certs},
        "warnings": certificate_warnings(settings, core.clock.now()),
    }


@get("/readyz", include_in_schema=False)
async def readyz(core: CoreDep, settings: SettingsDep) -> Response[dict[str, Any]]:
    body = await readiness(core, settings)
    headers = {"Cache-Control": "no-store"}
    if "database" in body["failed"]:  # down or restarting: worth asking again shortly
        headers["Retry-After"] = RETRY_AFTER
    return Response(body, status_code=200 if not body["failed"] else 503, headers=headers)
