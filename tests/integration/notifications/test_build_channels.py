"""build_channels picks the provider each setting names (log by default)."""

from __future__ import annotations

from notifications.providers import build_channels
from notifications.providers.email import SmtpChannel
from notifications.providers.smpp import SmppChannel
from notifications.providers.smsc import SmscChannel
from notifications.providers.telegram import TelegramChannel
from notifications.providers.webpush import WebPushChannel
from shared.config import EmailSettings, PushSettings, Settings, SmsSettings, TelegramSettings
from shared.core import Core


async def test_real_providers(settings: Settings, core: Core) -> None:
    configured = settings.model_copy(
        update={
            "sms": SmsSettings(provider="smsc", viber_provider="smsc", login="shop", password="x"),  # type: ignore[arg-type]
            "email": EmailSettings(provider="smtp"),
            "push": PushSettings(provider="webpush"),
            "telegram": TelegramSettings(token="123:abc"),  # type: ignore[arg-type]
        }
    )
    channels = build_channels(configured, core)
    try:
        assert isinstance(channels["sms"], SmscChannel)
        assert not channels["sms"].viber
        assert isinstance(channels["viber"], SmscChannel)
        assert channels["viber"].viber
        assert channels["viber"].name == "viber"
        assert isinstance(channels["email"], SmtpChannel)
        assert isinstance(channels["push"], WebPushChannel)
        assert isinstance(channels["telegram"], TelegramChannel)
        smpp = build_channels(
            configured.model_copy(update={"sms": SmsSettings(provider="smpp", viber_provider="smsc")}), core
        )
        assert isinstance(smpp["sms"], SmppChannel)
        assert smpp["sms"].core is core
        for channel in smpp.values():
            await channel.close()
    finally:
        for channel in channels.values():
            await channel.close()


async def test_defaults_are_the_log(settings: Settings) -> None:
    channels = build_channels(settings)
    assert {type(c).__name__ for c in channels.values()} == {"LogChannel"}
    assert set(channels) == {"sms", "viber", "email", "push", "telegram"}
