"""A message whose attempts are used up is finished: never claimed again, whatever the clock says."""

from __future__ import annotations

import pytest

from notifications.channels.base import DeliveryStatus
from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import NotifierSettings, Settings
from shared.core import Core
from tests.integration.notifications.test_flow import channels, drain, member, messages


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"notify": NotifierSettings(max_attempts=2, retry_base_seconds=1)})


async def test_exhausted_attempts_are_terminal(core: Core, clock: FixedClock) -> None:
    await member(core, consents={"sms": True})
    scripted = channels(sms=DeliveryStatus.FAILED)
    worker = Worker(core, scripted)
    for _ in range(6):  # well past any backoff each time
        await drain(worker)
        clock.advance(minutes=10)
    assert len(scripted["sms"].sent) == 2
    (message,) = [m for m in await messages(core) if m.channel == "sms"]
    assert message.attempts == 2
    assert message.status == "undeliverable"
    assert message.error == "gave up after 2 attempts: scripted"
