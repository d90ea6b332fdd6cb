"""The real dispatcher from the factory, fed updates, answering through a recording session."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.methods import SendPhoto
from sqlalchemy import select

from bot.factory import create_dispatcher
from shared.config import Settings
from shared.core import Core
from shared.db.models import Consent, Member
from tests.integration.bot.recording import RecordingSession, callback_update, message_update
from wallet.links import wallet_links

USER = 424242


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def bot(session: RecordingSession) -> Bot:
    return Bot(token="123:test", session=session)


@pytest.fixture
def dispatcher(core: Core, settings: Settings) -> Any:
    return create_dispatcher(core, settings, wallet_links)


def contact(user_id: int, owner: int, phone: str = "79123456789", language: str = "ru") -> Any:
    return message_update(
        user_id, language=language, contact={"phone_number": phone, "first_name": "Anna", "user_id": owner}
    )


async def members(core: Core) -> list[Member]:
    async with core.reading() as s:
        return list((await s.execute(select(Member))).scalars())


async def test_registration_with_ones_own_contact(
    core: Core, bot: Bot, dispatcher: Any, session: RecordingSession
) -> None:
    await dispatcher.feed_update(bot, message_update(USER, text="/start store-msk-001"))
    assert "поделитесь номером" in session.texts()[-1]
    await dispatcher.feed_update(bot, contact(USER, owner=USER))
    assert "Готово! Ваша карта" in session.texts()[-2]
    assert "дату рождения" in session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(USER, text="31.02.1990"))  # impossible
    assert "Не получилось прочитать дату" in session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(USER, text="17.05.2090"))  # in the future
    assert "Не получилось прочитать дату" in session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(USER, text="17.05.1990"))
    assert "сообщения о баллах и акциях" in session.texts()[-1]
    await dispatcher.feed_update(bot, callback_update(USER, "consent:yes"))
    (member,) = await members(core)
    assert member.telegram_user_id == USER
    assert member.source == "bot"
    assert member.referral == "store-msk-001"
    assert str(member.birth_date) == "1990-05-17"
    async with core.reading() as s:
        consents = {
            c.channel: (c.granted, c.method)
            for c in (await s.execute(select(Consent).where(Consent.member_id == member.id))).scalars()
        }
    assert consents == {"telegram": (True, "telegram-button"), "sms": (True, "telegram-button")}


async def test_someone_elses_contact_is_refused_and_nothing_stored(
    core: Core, bot: Bot, dispatcher: Any, session: RecordingSession
) -> None:
    await dispatcher.feed_update(bot, contact(USER, owner=USER + 1))
    assert "не ваш номер" in session.texts()[-1]
    assert await members(core) == []


async def test_a_till_member_is_linked_not_duplicated(
    core: Core, client: httpx.AsyncClient, bot: Bot, dispatcher: Any, session: RecordingSession
) -> None:
    await client.post("/api/v1/members", json={"phone": "+79123456789", "channel": "pos"})
    await client.post(
        "/api/v1/purchases",
        json={
            "store_id": "s",
            "receipt_id": "1",
            "member": {"phone": "+79123456789"},
            "redeem": 30,
            "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
        },
    )
    await dispatcher.feed_update(bot, contact(USER, owner=USER))
    assert "Нашли вашу карту" in session.texts()[-1]
    assert "Баланс: 70" in session.texts()[-1]
    (member,) = await members(core)
    assert member.telegram_user_id == USER
    assert member.source == "pos"
    await dispatcher.feed_update(bot, message_update(USER, text="💰 Баланс"))
    answer = session.texts()[-1]
    assert "Доступно: 70" in answer
    assert "Ожидают: 48" in answer
    assert "До уровня «Золото»" in answer
    await dispatcher.feed_update(bot, message_update(USER, text="💳 Карта"))
    photo = session.requests[-1]
    assert isinstance(photo, SendPhoto)
    assert member.card_number in (photo.caption or "")
    urls = [b.url for row in photo.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert urls[0].startswith("http://testserver.local/wallet/apple/")
    assert "pay.google.com" in urls[1]
    await dispatcher.feed_update(bot, message_update(USER, text="🧾 История"))
    assert "receipt 1" in session.texts()[-1]


async def test_english_speakers_get_english(core: Core, bot: Bot, dispatcher: Any, session: RecordingSession) -> None:
    await dispatcher.feed_update(bot, message_update(USER, text="/start", language="en"))
    assert "share your phone number" in session.texts()[-1]
    await dispatcher.feed_update(bot, contact(USER, owner=USER, language="en"))
    assert session.texts()[-2].startswith("Done! Your card")
    await dispatcher.feed_update(bot, callback_update(USER, "bd:skip", language="en"))
    assert "messages about points" in session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(USER, text="💰 Balance", language="en"))
    assert "Available: 100 points" in session.texts()[-1]


async def test_bad_input_gets_a_polite_answer(core: Core, bot: Bot, dispatcher: Any, session: RecordingSession) -> None:
    sticker = {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    await dispatcher.feed_update(bot, message_update(USER, sticker=sticker))
    assert "Сначала получите карту" in session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(USER, text="💰 Баланс"))  # an old button, unregistered
    assert "Сначала получите карту" in session.texts()[-1]
    await dispatcher.feed_update(bot, contact(USER, owner=USER, phone="123"))
    assert await members(core) == []


async def test_free_text_while_asked_for_a_date_and_after(
    core: Core, bot: Bot, dispatcher: Any, session: RecordingSession
) -> None:
    await dispatcher.feed_update(bot, contact(USER, owner=USER))
    await dispatcher.feed_update(bot, message_update(USER, text="x" * 4000))  # asked for a birth date
    assert "Не получилось прочитать дату" in session.texts()[-1]
    await dispatcher.feed_update(bot, callback_update(USER, "bd:skip"))
    await dispatcher.feed_update(bot, message_update(USER, text="просто текст"))
    assert "кнопки меню" in session.texts()[-1]


async def test_card_opens_the_cabinet_as_a_mini_app_on_https(
    core: Core, settings: Settings, bot: Bot, session: RecordingSession
) -> None:
    public = settings.model_copy(update={"public_url": "https://loyalty.example"})
    https_core = Core(public, core.clock, engine=core.engine)
    dispatcher = create_dispatcher(https_core, public, wallet_links)
    await dispatcher.feed_update(bot, contact(USER, owner=USER))
    await dispatcher.feed_update(bot, message_update(USER, text="💳 Карта"))
    photo = session.requests[-1]
    assert isinstance(photo, SendPhoto)
    last = photo.reply_markup.inline_keyboard[-1][0]  # type: ignore[union-attr]
    assert last.text == "Личный кабинет"
    assert last.web_app is not None
    assert last.web_app.url == "https://loyalty.example/cabinet/telegram"


async def test_no_mini_app_button_without_https(
    core: Core, bot: Bot, dispatcher: Any, session: RecordingSession
) -> None:
    await dispatcher.feed_update(bot, contact(USER, owner=USER))
    await dispatcher.feed_update(bot, message_update(USER, text="💳 Карта"))
    photo = session.requests[-1]
    assert isinstance(photo, SendPhoto)
    buttons = [b for row in photo.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert len(buttons) == 2
    assert all(b.web_app is None for b in buttons)


@pytest.mark.parametrize(
    ("telegram_name", "stored"),
    [
        ("An\x00na", "An na"),
        ("\x1b[31mAnna\x07", "[31mAnna"),
        ("\x00\x01", None),
        ("Ann" + "a" * 200, "Ann" + "a" * 97),
    ],
)
async def test_a_telegram_name_with_control_characters_is_cleaned_not_refused(
    core: Core,
    bot: Bot,
    dispatcher: Any,
    session: RecordingSession,
    telegram_name: str,
    stored: str | None,
) -> None:
    await dispatcher.feed_update(bot, message_update(USER, text="/start store\x00-msk"))
    user = {"id": USER, "is_bot": False, "first_name": telegram_name, "language_code": "ru"}
    await dispatcher.feed_update(
        bot,
        message_update(
            USER,
            contact={"phone_number": "79123456789", "first_name": telegram_name, "user_id": USER},
            **{"from": user},
        ),
    )
    assert "Готово! Ваша карта" in session.texts()[-2]
    (member,) = await members(core)
    assert member.first_name == stored
    assert member.referral == "store -msk"
