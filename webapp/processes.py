"""Long-running processes other than the web server, assembled here because they combine
packages (the notifier worker with the wallet's live-update listener)."""

from __future__ import annotations

import asyncio
import logging
import signal

from notifications.liveness import heartbeats, this_host
from notifications.providers import build_channels, send_rates
from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from wallet.live import WalletUpdater

log = logging.getLogger("loyalty.worker")


def create_worker(settings: Settings, core: Core | None = None) -> Worker:
    core = core or Core(settings)
    return Worker(core, build_channels(settings, core), listeners=[WalletUpdater()], rates=send_rates(settings))


async def run_worker(settings: Settings) -> None:
    worker = create_worker(settings)
    if settings.notify.metrics_port is not None:
        from prometheus_client import start_http_server

        from webapp.metrics import registry

        start_http_server(settings.notify.metrics_port, addr="0.0.0.0", registry=registry())  # noqa: S104
        log.info("worker metrics on port %d", settings.notify.metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("notifier worker started")
    try:
        await worker.run(stop)
    finally:
        await worker.core.close()


async def worker_alive_here(settings: Settings) -> tuple[bool, str]:
    """For `loyalty worker --check`: did a worker of this host beat within the heartbeat window?"""
    core = Core(settings)
    try:
        beats = await heartbeats(core, host=this_host())
    except Exception as exc:
        return False, f"cannot read the worker heartbeats: {type(exc).__name__}"
    finally:
        await core.close()
    window = settings.heartbeat_max_age_seconds
    if not beats:
        return False, f"no worker heartbeat from {this_host()}"
    age = (core.clock.now() - beats[0].last_seen).total_seconds()
    if age > window:
        return False, f"worker {beats[0].worker_id} last beat {age:.0f} s ago (more than {window:g} s)"
    return True, f"worker {beats[0].worker_id} alive (last beat {age:.0f} s ago)"
