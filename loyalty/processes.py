"""Long-running processes, assembled here because they combine packages: the notifier worker with the
wallet's live-update listener, and the bot (webhook or polling) with the wallet links."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from notifications.liveness import heartbeats, this_host
from notifications.providers import build_channels, send_rates
from notifications.webhooks import WebhookSender
from notifications.worker import Worker
from shared.config import Settings
from shared.core import Core
from wallet.live import WalletUpdater

if TYPE_CHECKING:
    from bot.factory import Telegram

log = logging.getLogger("loyalty.worker")


def create_telegram_for(core: Core, settings: Settings) -> Telegram | None:
    """The webhook bot when LOYALTY_TELEGRAM_TOKEN is set, else None (the bot is off)."""
    if settings.telegram.token is None:
        return None
    from bot.factory import create_telegram
    from wallet.links import wallet_links

    return create_telegram(core, settings, wallet_links)


async def run_polling_bot(settings: Settings) -> None:
    """`loyalty bot`: drop any webhook, then poll until a signal."""
    async with Core(settings) as core:
        telegram = create_telegram_for(core, settings)
        if telegram is None:
            raise RuntimeError("LOYALTY_TELEGRAM_TOKEN is not set: the bot is off")
        try:
            await telegram.bot.delete_webhook()
            await telegram.dispatcher.start_polling(telegram.bot, handle_signals=True)
        finally:
            await telegram.close()


def create_worker(settings: Settings, core: Core) -> Worker:
    return Worker(
        core,
        build_channels(settings, core),
        listeners=[WalletUpdater()],
        rates=send_rates(settings),
        webhooks=WebhookSender(core),
    )


async def run_worker(settings: Settings) -> None:
    async with Core(settings) as core:
        await _run_worker(settings, create_worker(settings, core))


async def _run_worker(settings: Settings, worker: Worker) -> None:
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
    await worker.run(stop)


async def worker_alive_here(settings: Settings) -> tuple[bool, str]:
    """For `loyalty worker --check`: did a worker of this host beat within the heartbeat window?"""
    async with Core(settings) as core:
        try:
            beats = await heartbeats(core, host=this_host())
        except Exception as exc:
            return False, f"cannot read the worker heartbeats: {type(exc).__name__}"
    window = settings.heartbeat_max_age_seconds
    if not beats:
        return False, f"no worker heartbeat from {this_host()}"
    age = (core.clock.now() - beats[0].last_seen).total_seconds()
    if age > window:
        return False, f"worker {beats[0].worker_id} last beat {age:.0f} s ago (more than {window:g} s)"
    return True, f"worker {beats[0].worker_id} alive (last beat {age:.0f} s ago)"
