"""The webhook in the real app: Telegram's secret header is required; the app closes the bot it was given."""

from __future__ import annotations

from aiogram.fsm.storage.memory import MemoryStorage
from pydantic import SecretStr

from bot.factory import Telegram, create_bot, create_dispatcher
from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from tests.integration.bot.recording import RecordingSession, message_update
from wallet.links import wallet_links
from webapp.app import create_app
from webapp.bot_webhook import SECRET_HEADER


class ClosingSession(RecordingSession):
    closed = False

    async def close(self) -> None:
        self.closed = True


class ClosingStorage(MemoryStorage):
    closed = False

    async def close(self) -> None:
        self.closed = True


async def test_webhook_needs_the_secret(core: Core, settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"token": SecretStr("123:test"), "webhook_secret": SecretStr("s3cret")}
            )
        }
    )
    session, storage = ClosingSession(), ClosingStorage()
    bot = create_bot(configured)
    bot.session = session  # the real bot, but its Bot API calls are recorded
    dispatcher = create_dispatcher(core, configured, wallet_links)
    dispatcher.fsm.storage = storage
    update = message_update(777, text="/start").model_dump(mode="json", exclude_none=True, by_alias=True)
    async with app_client(create_app(configured, core=core, telegram=Telegram(bot, dispatcher))) as http:
        assert (await http.post("/telegram/webhook", json=update)).status_code == 403
        assert (await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "nope"})).status_code == 403
        broken = await http.post("/telegram/webhook", content=b"{", headers={SECRET_HEADER: "s3cret"})
        assert broken.status_code == 400
        assert session.requests == []
        ok = await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "s3cret"})
        assert ok.status_code == 200
        assert not session.closed
        assert not storage.closed
    assert "поделитесь номером" in session.texts()[-1]
    assert session.closed  # closed on the app's shutdown
    assert storage.closed


async def test_without_a_bot_there_is_no_webhook(core: Core, settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"token": SecretStr("123:test"), "webhook_secret": SecretStr("s3cret")}
            )
        }
    )
    async with app_client(create_app(configured, core=core)) as http:
        answer = await http.post("/telegram/webhook", json={"update_id": 1}, headers={SECRET_HEADER: "s3cret"})
    assert answer.status_code in (404, 405)
