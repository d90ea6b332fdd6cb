"""Register the bot's webhook with Telegram and read back Telegram's view of it.

The web app serves updates at WEBHOOK_PATH and refuses any request without the secret that setWebhook
gave Telegram (it comes back in the X-Telegram-Bot-Api-Secret-Token header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from shared.config import Settings

WEBHOOK_PATH = "/telegram/webhook"  # the route webapp/bot_webhook.py serves
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


class WebhookConfigError(ValueError):
    """The settings cannot make a webhook Telegram would accept or we would answer."""


@dataclass(frozen=True)
class WebhookInfo:
    url: str
    pending_update_count: int
    last_error_date: datetime | None
    last_error_message: str | None
    max_connections: int | None
    ip_address: str | None
    allowed_updates: list[str] | None


def webhook_url(settings: Settings, url: str | None = None) -> str:
    """The public address Telegram should post to: LOYALTY_PUBLIC_URL + WEBHOOK_PATH unless given."""
    target = (url or settings.public_url.rstrip("/") + WEBHOOK_PATH).strip()
    parts = urlsplit(target)
    if parts.scheme != "https" or not parts.hostname:
        raise WebhookConfigError(
            f"the webhook URL must be https:// with a host (got {target!r}); Telegram only "
            "posts to https, set LOYALTY_PUBLIC_URL to the public https address"
        )
    return target


def webhook_secret(settings: Settings) -> str:
    secret = settings.telegram.webhook_secret
    if secret is None or not secret.get_secret_value():
        raise WebhookConfigError(
            "LOYALTY_TELEGRAM_WEBHOOK_SECRET is not set: without it the web app refuses every "
            "update (make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    value = secret.get_secret_value()
    if not _SECRET.match(value):
        raise WebhookConfigError(
            "LOYALTY_TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -, 1 to 256 characters"
        )
    return value


async def set_webhook(settings: Settings, url: str | None = None, drop_pending_updates: bool = False) -> str:
    """setWebhook with our URL and secret; returns the URL registered. Raises WebhookConfigError before
    calling Telegram when the settings cannot work, aiogram's TelegramAPIError when Telegram refuses."""
    from bot.factory import create_bot

    target, secret = webhook_url(settings, url), webhook_secret(settings)
    bot = create_bot(settings)
    try:
        await bot.set_webhook(url=target, secret_token=secret, drop_pending_updates=drop_pending_updates)
    finally:
        await bot.session.close()
    return target


async def get_webhook_info(settings: Settings) -> WebhookInfo:
    """getWebhookInfo: what Telegram has registered and the last delivery error it saw."""
    from bot.factory import create_bot

    bot = create_bot(settings)
    try:
        info = await bot.get_webhook_info()
    finally:
        await bot.session.close()
    return WebhookInfo(
        url=info.url,
        pending_update_count=info.pending_update_count,
        last_error_date=info.last_error_date,
        last_error_message=info.last_error_message,
        max_connections=info.max_connections,
        ip_address=info.ip_address,
        allowed_updates=info.allowed_updates,
    )
