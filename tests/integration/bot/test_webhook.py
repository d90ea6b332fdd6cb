"""The webhook in the real app: Telegram's secret header is required."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from bot.factory import create_bot
from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.integration.bot.recording import RecordingSession, message_update
from webapp.app import create_app
from webapp.bot_webhook import SECRET_HEADER


async def test_webhook_needs_the_secret(core: Core, settings: Settings, monkeypatch: Any) -> None:
    configured = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"token": SecretStr("123:test"), "webhook_secret": SecretStr("s3cret")}
            )
        }
    )
    session = RecordingSession()
    real_create_bot = create_bot

    def recording_bot(s: Settings) -> Any:  # the real bot, but its Bot API calls are recorded
        made = real_create_bot(s)
        made.session = session
        return made

    monkeypatch.setattr("bot.factory.create_bot", recording_bot)
    update = message_update(777, text="/start").model_dump(mode="json", exclude_none=True, by_alias=True)
    async with app_client(create_app(configured, core=core)) as http:
        assert (await http.post("/telegram/webhook", json=update)).status_code == 403
        assert (await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "nope"})).status_code == 403
        broken = await http.post("/telegram/webhook", content=b"{", headers={SECRET_HEADER: "s3cret"})
        assert broken.status_code == 400
        assert session.requests == []
        ok = await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "s3cret"})
        assert ok.status_code == 200
    assert "поделитесь номером" in session.texts()[-1]
