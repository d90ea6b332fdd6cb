"""Offers, settings (language and channels), history pages, floods and stale buttons."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageText
from sqlalchemy import select

from bot.factory import create_dispatcher
from shared.config import Settings
from shared.core import Core
from shared.db.models import Consent, Member
from tests.integration.bot.recording import RecordingSession, callback_update, message_update
from tests.integration.offers.helpers import give_offer
from tests.integration.partners.coalition import BANK, OWN, make_coalition
from wallet.links import wallet_links

USER = 31337


@pytest.fixture
async def registered(core: Core, settings: Settings) -> tuple[Bot, Any, RecordingSession]:
    session = RecordingSession()
    bot = Bot(token="123:test", session=session)
    dispatcher = create_dispatcher(core, settings, wallet_links)
    await dispatcher.feed_update(
        bot, message_update(USER, contact={"phone_number": "79123456789", "first_name": "Anna", "user_id": USER})
    )
    return bot, dispatcher, session


async def test_offers_list_the_program(registered: tuple[Bot, Any, RecordingSession]) -> None:
    bot, dispatcher, session = registered
    await dispatcher.feed_update(bot, message_update(USER, text="🎁 Предложения"))
    text = session.texts()[-1]
    assert "Золото: от 30\xa0000\xa0₽ в год — 10%" in text
    assert "14%" in text
    assert "70%" in text


async def test_settings_switch_language_and_channels(core: Core, registered: tuple[Bot, Any, RecordingSession]) -> None:
    bot, dispatcher, session = registered
    await dispatcher.feed_update(bot, message_update(USER, text="⚙️ Настройки"))
    assert "Язык и каналы" in session.texts()[-1]
    await dispatcher.feed_update(bot, callback_update(USER, "ch:sms"))
    await dispatcher.feed_update(bot, callback_update(USER, "ch:telegram"))
    async with core.reading() as s:
        consents = {c.channel: (c.granted, c.method) for c in (await s.execute(select(Consent))).scalars()}
    assert consents["sms"] == (True, "telegram-settings")
    assert consents["telegram"] == (True, "telegram-settings")
    assert any(isinstance(r, EditMessageText) for r in session.requests)
    await dispatcher.feed_update(bot, callback_update(USER, "lang:en"))
    async with core.reading() as s:
        assert (await s.execute(select(Member.language))).scalar_one() == "en"
    await dispatcher.feed_update(bot, message_update(USER, text="💰 Balance"))
    assert session.texts()[-1].startswith("Available:")


async def test_history_pages(core: Core, client: Any, registered: tuple[Bot, Any, RecordingSession]) -> None:
    bot, dispatcher, session = registered
    for n in range(12):
        await client.post(
            "/api/v1/purchases",
            json={
                "store_id": "s",
                "receipt_id": f"h{n}",
                "member": {"phone": "+79123456789"},
                "lines": [{"sku": "a", "quantity": 1, "price": 10000, "amount": 10000}],
            },
        )
    await dispatcher.feed_update(bot, message_update(USER, text="🧾 История"))
    first = session.requests[-1]
    assert "receipt h11" in session.texts()[-1]
    assert "receipt h2" in session.texts()[-1]
    button = first.reply_markup.inline_keyboard[0][0]  # type: ignore[union-attr]
    await dispatcher.feed_update(bot, callback_update(USER, button.callback_data))
    older = session.texts()[-1]
    assert "receipt h1" in older
    assert "welcome bonus" in older
    assert "receipt h11" not in older


async def test_history_says_where_points_came_from(
    core: Core, client: Any, registered: tuple[Bot, Any, RecordingSession]
) -> None:
    bot, dispatcher, session = registered
    await make_coalition(core)
    for store in (BANK, OWN):
        receipt = {
            "store_id": store,
            "receipt_id": f"p-{store}",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "a", "quantity": 1, "price": 10000, "amount": 10000}],
        }
        assert (await client.post("/api/v1/purchases", json=receipt)).status_code == 201
    await dispatcher.feed_update(bot, message_update(USER, text="🧾 История"))
    lines = session.texts()[-1].splitlines()
    assert any(f"receipt p-{BANK}" in line and line.endswith(f"· Store {BANK}, партнёр Bank") for line in lines)
    assert any(f"receipt p-{OWN}" in line and line.endswith(f"· Store {OWN}") for line in lines)


async def test_stale_buttons_from_strangers_are_answered_politely(core: Core, settings: Settings) -> None:
    session = RecordingSession()
    bot = Bot(token="123:test", session=session)
    dispatcher = create_dispatcher(core, settings, wallet_links)
    await dispatcher.feed_update(bot, callback_update(999, "ch:sms"))
    await dispatcher.feed_update(bot, callback_update(999, "hist:abc"))
    answers = [r for r in session.requests if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 2
    assert all("Сначала получите карту" in (a.text or "") for a in answers)
    async with core.reading() as s:
        assert (await s.execute(select(Consent))).first() is None


async def test_floods_get_one_polite_answer(registered: tuple[Bot, Any, RecordingSession]) -> None:
    bot, dispatcher, session = registered
    before = len(session.texts())
    for _ in range(12):
        await dispatcher.feed_update(bot, message_update(USER, text="привет"))
    replies = session.texts()[before:]
    assert replies.count("Слишком быстро — подождите пару секунд.") == 1
    assert len(replies) <= 6


async def test_offers_start_with_the_members_own_for_you(
    core: Core, registered: tuple[Bot, Any, RecordingSession]
) -> None:
    bot, dispatcher, session = registered
    async with core.reading() as s:
        member_id = (await s.execute(select(Member.id))).scalar_one()
    await give_offer(core, member_id, kind="sku", item="4607001")
    await dispatcher.feed_update(bot, message_update(USER, text="🎁 Предложения"))
    assert session.texts()[-1].startswith("Для вас:\n• ×3 баллов на товар «4607001» до 6 декабря\n\nУровни программы:")
