"""Provider adapters behind the Channel port, and the one place that picks them from the settings.

Every channel defaults to the "log" provider (messages appended to var/messages.jsonl), so a fresh
install runs without any accounts; Telegram without a token falls back to the log too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.config import Settings
from shared.vocabulary import CHANNELS

if TYPE_CHECKING:
    from notifications.channels.base import Channel

__all__ = ["build_channels", "send_rates"]


def _log_channel(name: str, settings: Settings) -> Channel:
    from notifications.channels.log import LogChannel  # the engine's sink

    return LogChannel(name, settings.var_dir / "messages.jsonl")


def _provider_of(name: str, settings: Settings) -> str:
    if name == "sms":
        return settings.sms.provider
    if name == "viber":
        return settings.sms.viber_provider
    if name == "email":
        return settings.email.provider
    if name == "push":
        return settings.push.provider
    return "telegram" if settings.telegram.token is not None else "log"


def _build(name: str, provider: str, settings: Settings, core: Any) -> Channel:
    if provider == "smsc":
        from notifications.providers.smsc import SmscChannel

        return SmscChannel(settings.sms, name=name, viber=name == "viber")
    if provider == "smpp":
        from notifications.providers.smpp import SmppChannel

        return SmppChannel(settings.sms, core=core, name=name, response_timeout=settings.sms.smpp_response_timeout)
    if provider == "smtp":
        from notifications.providers.email import SmtpChannel

        return SmtpChannel(settings)
    if provider == "webpush":
        from notifications.providers.webpush import WebPushChannel

        return WebPushChannel(settings, core)
    if provider == "telegram":
        from notifications.providers.telegram import TelegramChannel

        return TelegramChannel(settings.telegram)
    return _log_channel(name, settings)


def build_channels(settings: Settings, core: Any = None) -> dict[str, Channel]:
    """One channel per name. ``core`` lets SMPP record its receipts and Web Push drop gone subscriptions."""
    return {name: _build(name, _provider_of(name, settings), settings, core) for name in CHANNELS}


def send_rates(settings: Settings) -> dict[str, float]:
    """Per-channel sends per second the worker keeps to (Telegram: 30/s per bot)."""
    return {
        "telegram": settings.telegram.rate_per_second,
        "sms": settings.sms.rate_per_second,
        "viber": settings.sms.rate_per_second,
        "email": settings.email.rate_per_second,
    }
