"""Long-running processes other than the web server, assembled here because they combine
packages (the notifier worker with the wallet's live-update listener)."""

from __future__ import annotations

import asyncio
import logging
import signal

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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("notifier worker started")
    try:
        await worker.run(stop)
    finally:
        await worker.core.close()
