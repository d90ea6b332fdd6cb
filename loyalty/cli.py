"""The `loyalty` command: one CLI for every process and operation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import click
from sqlalchemy import delete, select

from shared.apikeys import create_api_key, find_api_key, list_api_keys, revoke_api_key
from shared.clock import FixedClock
from shared.config import Settings, load_settings
from shared.core import Core
from shared.db.models.console import StaffAccount
from shared.errors import ConfigError, DomainError, InvalidInput
from shared.files import private_dir, write_private


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    private_dir(settings.var_dir)  # 0700: keys, the SQLite database and the message log live here
    from webapp.logs import configure_logging

    configure_logging(settings)
    return settings


@click.group()
def main() -> None:
    """Loyalty program: POS API, cabinet, bot, wallet cards and notifier."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (SQLite under var/ by default, or LOYALTY_DATABASE_URL)."""
    from shared.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.db_url, revision, settings.db_statement_cache_size)
    click.echo(f"database at {revision}")


@db.command("downgrade", context_settings={"ignore_unknown_options": True})  # so "-1" is a revision
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Roll the schema back to REVISION (e.g. 0013, or -1 for one step); take a backup first."""
    from alembic.util import CommandError

    from shared.db.migrate import downgrade

    settings = _settings()
    try:
        downgrade(settings.db_url, revision, settings.db_statement_cache_size)
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"database at {revision}")


@main.command()
@click.option("--members", default=300, show_default=True)
def demo(members: int) -> None:
    """Seed a demo program (once) and print a demo API key."""
    from notifications.campaigns import run_digest, seed_demo_campaign
    from shared.demo import seed_demo
    from shared.offers import run_recommendations

    settings = _settings()

    async def go() -> None:
        async with Core(settings) as core:
            report = await seed_demo(core, members=members, past=[seed_demo_campaign])
            if report.seeded:
                click.echo(f"demo: {report.members} members, {report.purchases} purchases")
                await run_recommendations(core)  # what the demo's baskets predict, for the digest below
                digest = await run_digest(core, force=True)  # this month's digest, e.g. the demo member's
                click.echo(f"demo: monthly digest {digest.month} planned for {digest.members} members")
            else:
                click.echo(f"demo: already seeded ({report.members} members)")
            click.echo(f"demo API key: {await demo_api_key(core)}")
            partner_key = await demo_partner_key(core)
            if partner_key:
                click.echo(f"demo partner till key (pharmacy stores only): {partner_key}")
            email, password = await demo_staff(core)
            click.echo(f"demo console: {email} / {password}")

    asyncio.run(go())


async def _kept_key(core: Core, path: Path) -> str | None:
    """A demo key kept in var/ by an earlier run, while the database still knows it."""
    if not path.exists():  # noqa: ASYNC240 - one tiny file, once per command
        return None
    key = path.read_text(encoding="utf-8").strip()  # noqa: ASYNC240 - one tiny file, once per command
    async with core.reading() as session:
        return key if await find_api_key(session, key) is not None else None


async def demo_api_key(core: Core) -> str:
    """The demo key is kept in var/ so `make run` prints the same one every time."""
    path = core.settings.var_dir / "demo-api-key"
    if (kept := await _kept_key(core, path)) is not None:
        return kept
    async with core.transaction() as session:
        key = await create_api_key(session, core.clock, "demo", scope="staff")
    write_private(path, key)
    return key


async def demo_partner_key(core: Core) -> str | None:
    """The demo pharmacy's till key, kept in var/ like the demo key; None when the demo has no pharmacy."""
    from shared.db.models.partners import Partner
    from shared.partners import create_partner_key

    path = core.settings.var_dir / "demo-partner-key"
    if (kept := await _kept_key(core, path)) is not None:
        return kept
    async with core.transaction() as session:
        partner = (await session.execute(select(Partner).where(Partner.code == "pharmacy"))).scalar_one_or_none()
        if partner is None:
            return None
        key = await create_partner_key(session, core.clock, partner, "demo pharmacy tills", actor="demo")
    write_private(path, key)
    return key


async def demo_staff(core: Core) -> tuple[str, str]:
    """A demo admin for the console; its password is kept in var/ (like the demo key), never in the repo."""
    from shared.demo import DEMO_STAFF_EMAIL
    from shared.staff import ADMIN, authenticate, create_staff

    path = core.settings.var_dir / "demo-staff-password"
    if path.exists():
        password = path.read_text(encoding="utf-8").strip()
        async with core.transaction() as session:
            if await authenticate(session, core.clock, DEMO_STAFF_EMAIL, password) is not None:
                return DEMO_STAFF_EMAIL, password
    password = secrets.token_urlsafe(12)
    async with core.transaction() as session:
        await session.execute(delete(StaffAccount).where(StaffAccount.email == DEMO_STAFF_EMAIL))
        await create_staff(session, core.clock, DEMO_STAFF_EMAIL, ADMIN, password, actor="demo")
    write_private(path, password)
    return DEMO_STAFF_EMAIL, password


@main.group()
def apikey() -> None:
    """API keys for tills and integrations."""


@apikey.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["pos", "staff"]), default="pos", show_default=True)
def apikey_create(name: str, scope: str) -> None:
    """Create a key; it is printed once, as the last line."""
    settings = _settings()

    async def go() -> str:
        async with Core(settings) as core, core.transaction() as session:
            return await create_api_key(session, core.clock, name, scope)

    key = asyncio.run(go())
    click.echo(f"API key {name!r} ({scope}) created; store it now, it is not shown again:")
    click.echo(key)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


@apikey.command("list")
def apikey_list() -> None:
    """Every key: name, scope, first characters, created, last used (to within minutes), revoked."""
    settings = _settings()

    async def go() -> list[tuple[str, ...]]:
        async with Core(settings) as core, core.reading() as session:
            return [
                (
                    k.name,
                    k.scope,
                    k.prefix + "...",
                    _when(k.created_at),
                    _when(k.last_used_at),
                    _when(k.revoked_at) if k.revoked_at else "live",
                )
                for k in await list_api_keys(session)
            ]

    rows = asyncio.run(go())
    if not rows:
        click.echo("no API keys")
        return
    header = ("NAME", "SCOPE", "KEY", "CREATED", "LAST USED", "REVOKED")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


@apikey.command("revoke")
@click.argument("name")
def apikey_revoke(name: str) -> None:
    """Revoke every live key with this name; the next request with it gets 401, in every process."""
    settings = _settings()

    async def go() -> int:
        async with Core(settings) as core, core.transaction() as session:
            return await revoke_api_key(session, core.clock, name)

    try:
        count = asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked {count} API key{'s' if count != 1 else ''} named {name!r}")


@main.group()
def staff() -> None:
    """Console staff accounts."""


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "marketer", "analyst", "support"]), required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (for scripts and CI)")
def staff_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a console account; the password is prompted for, or read from stdin."""
    from shared.staff import create_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()

    async def go() -> None:
        async with Core(settings) as core, core.transaction() as session:
            await create_staff(session, core.clock, email, role, password, actor="cli")

    try:
        asyncio.run(go())
    except InvalidInput as exc:
        raise click.ClickException(exc.detail + " " + "; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from exc
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"staff account {email.strip().lower()} ({role}) created")


def _moment(as_of: str | None) -> datetime | None:
    """An --as-of value: RFC 3339 with an offset, or None for now."""
    if not as_of:
        return None
    try:
        moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter("use RFC 3339, e.g. 2026-11-22T03:00:00+03:00", param_hint="--as-of") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("needs an offset, e.g. +03:00", param_hint="--as-of")
    return moment


@main.group()
def jobs() -> None:
    """Due jobs."""


@jobs.command("run-due")
@click.option("--as-of", "as_of", default=None, help="RFC 3339 moment, default now")
def jobs_run_due(as_of: str | None) -> None:
    """Activate pending points, burn expired lots, warn, open birthdays, recompute tiers."""
    from shared.jobs import run_due

    settings = _settings()
    moment = _moment(as_of)
    clock = FixedClock(moment) if moment is not None else None

    async def go() -> None:
        from shared.retention import run_retention

        async with Core(settings, clock) as core:
            report = await run_due(core, core.clock)
            retention = await run_retention(core, core.clock, settings.retention)
        click.echo(
            f"as of {core.clock.now().isoformat()}: activated {report.activated} lots, "
            f"expired {report.expired} lots, {report.expiring_notices} expiring notices, "
            f"{report.birthdays} birthdays, {report.tier_changes} tier changes"
        )
        click.echo(f"retention: {retention}")

    asyncio.run(go())


@main.command()
@click.option("--as-of", "as_of", default=None, help="RFC 3339 moment, default now")
@click.option("--now", "now", is_flag=True, help="send this month's digest even before the digest day")
def digest(as_of: str | None, now: bool) -> None:
    """The monthly digest: plan it for every consenting member who has none this month (idempotent)."""
    from notifications.campaigns import run_digest

    settings = _settings()
    moment = _moment(as_of)

    async def go() -> None:
        async with Core(settings) as core:
            report = await run_digest(core, as_of=moment, force=now)
        if report.ran:
            click.echo(f"digest {report.month}: {report.members} members, {report.messages} messages planned")
        else:
            click.echo(f"digest {report.month}: nothing to do (already sent this month, or before the digest day)")

    asyncio.run(go())


@main.group()
def member() -> None:
    """Personal data of one member: export it, or erase the person (152-FZ, GDPR)."""


def _member_phone(core: Core, phone: str) -> str:
    from shared.phones import normalize_phone

    try:
        return normalize_phone(phone, core.rules.phone_region)
    except InvalidInput as exc:
        raise click.BadParameter(exc.detail, param_hint="PHONE") from exc


@member.command("export")
@click.argument("phone")
def member_export(phone: str) -> None:
    """Print everything held about the member with PHONE as JSON."""
    import json

    from shared.privacy import export_member, find_for_privacy

    settings = _settings()

    async def go() -> dict[str, Any]:
        async with Core(settings) as core, core.reading() as session:
            found = await find_for_privacy(session, _member_phone(core, phone))
            return await export_member(session, found, core.clock.now())

    try:
        data = asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@member.command("erase")
@click.argument("phone")
@click.option("--reason", required=True, help="why (e.g. the request's number); no personal data")
@click.option("--yes", is_flag=True, help="do not ask for confirmation on a terminal")
def member_erase(phone: str, reason: str, yes: bool) -> None:
    """Erase the person with PHONE; their points and purchases stay under an anonymous member."""
    import getpass

    from shared.privacy import erase_member, find_for_privacy, validate_reason

    settings = _settings()
    try:
        validate_reason(reason)
    except InvalidInput as exc:
        raise click.BadParameter("; ".join(e.message for e in exc.errors), param_hint="--reason") from exc
    if not yes and sys.stdin.isatty():
        click.confirm(f"Erase the member with phone {phone}? This cannot be undone", abort=True)

    async def go() -> str:
        async with Core(settings) as core, core.transaction() as session:
            found = await find_for_privacy(session, _member_phone(core, phone))
            erased = await erase_member(session, core.clock, found.id, actor=f"cli:{getpass.getuser()}", reason=reason)
            return str(erased.id)

    try:
        member_id = asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"erased: the person is gone; points and purchases stay under anonymous member {member_id}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where rejected rows go (default FILE.rejected.csv)",
)
def import_csv(file: Path, report_path: Path | None) -> None:
    """Import members from a CSV (phone, card_number, names, email, birth_date, balance, consent_*)."""
    from shared.importer import import_members

    settings = _settings()
    report_path = report_path or file.with_suffix(".rejected.csv")

    async def go() -> None:
        async with Core(settings) as core:
            size = file.stat().st_size  # noqa: ASYNC240 - one stat before a long import
            # bytes that are not UTF-8 reach the importer as lone surrogates: it rejects those rows
            with (
                file.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as source,
                click.progressbar(length=size, label="importing", file=sys.stderr) as bar,
            ):
                position = [0]

                def advance(_: int) -> None:
                    now = cast(BinaryIO, source.buffer).tell() if hasattr(source, "buffer") else position[0]
                    bar.update(max(0, now - position[0]))
                    position[0] = now

                rules = await core.current_rules()
                report = await import_members(core, core.clock, rules, source, report_path, advance)
        click.echo(
            f"{report.rows} rows: {report.imported} imported with {report.points} points, "
            f"{report.rejected} rejected (reasons in {report_path})"
        )

    try:
        asyncio.run(go())
    except InvalidInput as exc:
        raise click.ClickException(exc.detail) from exc


@main.command("import-stores")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where rejected rows go (default var/imports/FILE.rejected.csv)",
)
def import_stores_csv(file: Path, report_path: Path | None) -> None:
    """Create or update stores from a CSV (code,name,time_zone,address,latitude,longitude), by code, at once."""
    import getpass

    from shared.store_import import import_stores

    settings = _settings()
    report_path = report_path or settings.var_dir / "imports" / f"{file.stem}.rejected.csv"

    async def go() -> str:
        async with Core(settings) as core:
            with file.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as source:
                report = await import_stores(core, core.clock, source, report_path, actor=f"cli:{getpass.getuser()}")
        return (
            f"{report.rows} rows: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected} rejected (reasons in {report_path})"
        )

    try:
        click.echo(asyncio.run(go()))
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True, help="web processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (API, cabinet, console, wallet service, bot webhook). Does not migrate: run
    `loyalty db upgrade` once before starting (compose's `migrate` service does)."""
    import uvicorn

    settings = _settings()
    # our own handlers format uvicorn's lines too (log_config=None); the access log is ours
    # (LOYALTY_ACCESS_LOG: route templates, not raw paths, with the request id)
    uvicorn.run(
        "loyalty.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        log_config=None,
        **forwarded_headers(settings),
    )


def forwarded_headers(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options from LOYALTY_TRUSTED_PROXIES: X-Forwarded-For/-Proto are believed only from
    those addresses (the client address rate limits see is then the shopper's); none trusted by default."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


@main.command()
def bot() -> None:
    """The Telegram bot in polling mode (when Telegram cannot reach a public webhook URL)."""
    from loyalty.processes import run_polling_bot

    settings = _settings()
    if settings.telegram.token is None:
        raise click.ClickException("LOYALTY_TELEGRAM_TOKEN is not set: the bot is off")
    asyncio.run(run_polling_bot(settings))


@main.group()
def telegram() -> None:
    """The bot's webhook registration with Telegram."""


@telegram.command("set-webhook")
@click.option("--url", default=None, help="default: LOYALTY_PUBLIC_URL + /telegram/webhook (https only)")
@click.option("--drop-pending-updates", is_flag=True, help="forget updates Telegram queued meanwhile")
def telegram_set_webhook(url: str | None, drop_pending_updates: bool) -> None:
    """Register the webhook (setWebhook) with LOYALTY_TELEGRAM_WEBHOOK_SECRET as its secret token."""
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from bot.webhook import WebhookConfigError, set_webhook

    settings = _settings()
    if settings.telegram.token is None:
        raise click.ClickException("LOYALTY_TELEGRAM_TOKEN is not set: the bot is off")
    try:
        registered = asyncio.run(set_webhook(settings, url, drop_pending_updates))
    except WebhookConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except (TelegramAPIError, TelegramNetworkError) as exc:
        raise click.ClickException(f"Telegram refused setWebhook: {exc}") from exc
    click.echo(f"webhook set: {registered}")
    click.echo(
        "the web app must be running there with the same LOYALTY_TELEGRAM_WEBHOOK_SECRET; "
        "do not run `loyalty bot` as well (it deletes the webhook to poll)"
    )


@telegram.command("webhook-info")
def telegram_webhook_info() -> None:
    """Show Telegram's view of the webhook (getWebhookInfo): URL, queue, last delivery error."""
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from bot.webhook import WEBHOOK_PATH, get_webhook_info

    settings = _settings()
    if settings.telegram.token is None:
        raise click.ClickException("LOYALTY_TELEGRAM_TOKEN is not set: the bot is off")
    try:
        info = asyncio.run(get_webhook_info(settings))
    except (TelegramAPIError, TelegramNetworkError) as exc:
        raise click.ClickException(f"Telegram refused getWebhookInfo: {exc}") from exc
    expected = settings.public_url.rstrip("/") + WEBHOOK_PATH
    click.echo(f"url: {info.url or '(none: polling mode)'}")
    click.echo(f"expected: {expected} ({'matches' if info.url == expected else 'DIFFERENT'})")
    click.echo(f"pending updates: {info.pending_update_count}")
    if info.last_error_date is not None:
        click.echo(f"last error: {info.last_error_date.isoformat()} {info.last_error_message or ''}".rstrip())
    else:
        click.echo("last error: none")
    if info.max_connections is not None:
        click.echo(f"max connections: {info.max_connections}")
    if info.ip_address:
        click.echo(f"ip address: {info.ip_address}")


@main.command()
@click.option(
    "--check",
    is_flag=True,
    help="exit 0 when a worker on this host sent a heartbeat recently, 1 otherwise (health checks)",
)
def worker(check: bool) -> None:
    """The notifier: outbox -> messages -> providers, and the scheduler for due jobs."""
    from loyalty.processes import run_worker, worker_alive_here

    settings = _settings()
    if check:
        alive, line = asyncio.run(worker_alive_here(settings))
        click.echo(line)
        sys.exit(0 if alive else 1)
    asyncio.run(run_worker(settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def run(host: str, port: int) -> None:
    """Development: migrate, seed the demo, and run every process until Ctrl-C."""
    inbox = f"127.0.0.1:{port + 1}"  # the local webhook inbox: the one plain-http host allowed here
    os.environ.setdefault("LOYALTY_WEBHOOKS_ALLOW_HOSTS", inbox)
    settings = _settings()
    from shared.db.migrate import upgrade

    upgrade(settings.db_url, "heads", settings.db_statement_cache_size)
    processes: list[subprocess.Popen[Any]] = []
    exe = [sys.executable, "-m", "loyalty.cli"]
    subprocess.run([*exe, "demo"], check=True)  # noqa: S603 - our own executable, fixed arguments
    key = (settings.var_dir / "demo-api-key").read_text(encoding="utf-8").strip()
    staff_password = (settings.var_dir / "demo-staff-password").read_text(encoding="utf-8").strip()
    partner_file = settings.var_dir / "demo-partner-key"
    partner_key = partner_file.read_text(encoding="utf-8").strip() if partner_file.exists() else ""
    processes.append(subprocess.Popen([*exe, "serve", "--host", host, "--port", str(port)]))  # noqa: S603 - our CLI
    for extra in _extra_processes(settings):
        processes.append(subprocess.Popen([*exe, *extra]))  # noqa: S603 - our own CLI, fixed arguments
    hooks = _demo_webhooks(settings, inbox)
    if hooks is not None:
        processes.append(subprocess.Popen([*exe, *hooks]))  # noqa: S603 - our own CLI, fixed arguments
    base = f"http://{host}:{port}"
    click.echo(
        f"\n  Loyalty is running\n  Cabinet       {base}/  (sign in with the demo member's phone; the code is in"
        f" Messages)\n  API docs      {base}/schema\n  POS API       {base}/api/v1\n"
        f"  Demo API key  {key}\n"
        + (f"  Partner key   {partner_key}  (the demo pharmacy's stores only)\n" if partner_key else "")
        + f"  Demo member   {_demo_phone()}\n"
        f"  Console       {base}/console  ({_demo_staff_email()} / {staff_password})\n"
        f"  Messages      {settings.var_dir / 'messages.jsonl'}\n"
        + (f"  Webhooks      {settings.var_dir / 'webhooks.jsonl'}  (signatures checked)\n" if hooks else "")
        + "  Stop          Ctrl-C\n"
    )
    if settings.telegram.token is None:
        click.echo("  Telegram bot  off: set LOYALTY_TELEGRAM_TOKEN to turn it on\n")

    def stop(*_: Any) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    reported: set[int] = set()
    try:
        while processes[0].poll() is None:  # the web app: while it runs, so does `run`
            with contextlib.suppress(subprocess.TimeoutExpired):
                processes[0].wait(timeout=1)
            for process in processes[1:]:  # a worker or bot that died is reported; /readyz shows it too
                if process.poll() is not None and process.pid not in reported:
                    reported.add(process.pid)
                    command = " ".join(cast(list[str], process.args)[3:])
                    click.echo(
                        f"  {command} exited ({process.returncode}); the web app keeps "
                        f"running and /readyz says what is missing",
                        err=True,
                    )
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            process.wait(timeout=10)


def _demo_webhooks(settings: Settings, inbox: str) -> list[str] | None:
    """Subscribe the local inbox to every event (once) and say how to start it; None when the
    operator's LOYALTY_WEBHOOKS_ALLOW_HOSTS does not allow it."""
    from loyalty.webhook_inbox import ensure_demo_endpoint

    secret_file = settings.var_dir / "demo-webhook-secret"
    try:
        asyncio.run(_with_core(settings, lambda core: ensure_demo_endpoint(core, f"http://{inbox}/hooks", secret_file)))
    except InvalidInput as exc:
        click.echo(f"  Webhook inbox off: {exc.detail} (LOYALTY_WEBHOOKS_ALLOW_HOSTS does not allow {inbox})", err=True)
        return None
    host, port = inbox.split(":")
    return ["webhooks", "listen", "--host", host, "--port", port, "--secret-file", str(secret_file)]


async def _with_core(settings: Settings, work: Callable[[Core], Awaitable[None]]) -> None:
    async with Core(settings) as core:
        await work(core)


@main.group()
def webhooks() -> None:
    """Outbound webhooks: a local receiver to try them."""


@webhooks.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option(
    "--secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="a file holding the endpoint's whsec_ secret (shown once when the endpoint was made)",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default var/webhooks.jsonl")
def webhooks_listen(host: str, port: int, secret_file: Path, out: Path | None) -> None:
    """Receive webhooks: check each signature, drop repeats, append each event to a JSON-lines file."""
    from aiohttp import web
    from pydantic import SecretStr

    from loyalty.webhook_inbox import Inbox
    from shared.clock import SystemClock

    settings = _settings()
    secret = SecretStr(secret_file.read_text(encoding="utf-8").strip())
    inbox = Inbox(secret, out or settings.var_dir / "webhooks.jsonl", SystemClock())
    web.run_app(inbox.app(), host=host, port=port, print=None, access_log=None)


def _demo_staff_email() -> str:
    from shared.demo import DEMO_STAFF_EMAIL

    return DEMO_STAFF_EMAIL


def _demo_phone() -> str:
    from shared.demo import demo_phone

    return demo_phone(0)


def _extra_processes(settings: Settings) -> list[list[str]]:
    """Other processes `run` starts beside the web app: the worker, and the polling bot when it is on."""
    return [["worker"]] if settings.telegram.token is None else [["worker"], ["bot"]]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
