"""Channel adapters for the configured providers; `log` (the default) needs no account."""

from __future__ import annotations

from notifications.channels.base import Channel
from notifications.channels.log import LogChannel
from shared.config import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    log_path = settings.var_dir / "messages.jsonl"
    channels: dict[str, Channel] = {name: LogChannel(name, log_path)
                                    for name in ("sms", "viber", "email", "push", "telegram")}
    if settings.sms.provider == "smsc":
        from notifications.providers.smsc import SmscChannel

        channels["sms"] = SmscChannel(settings.sms, viber=False)
        channels["viber"] = SmscChannel(settings.sms, viber=True)
    if settings.email.provider == "smtp":
        from notifications.providers.email import SmtpChannel

        channels["email"] = SmtpChannel(settings.email)
    if settings.telegram.token is not None:
        from notifications.providers.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings.telegram)
    return channels


def send_rates(settings: Settings) -> dict[str, float]:
    return {"telegram": settings.telegram.rate_per_second, "sms": settings.sms.rate_per_second,
            "viber": settings.sms.rate_per_second, "email": settings.email.rate_per_second}
