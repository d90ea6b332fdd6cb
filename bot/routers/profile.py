"""After registration: an optional birth date and the shopper's answer on messages (consent)."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.texts import button_texts, t
from shared.core import Core
from shared.db.models import Member
from shared.members import set_consent

MENU_BUTTONS = set().union(
    *(button_texts(k) for k in ("btn_balance", "btn_card", "btn_history", "btn_help", "btn_offers", "btn_settings"))
)


class Profile(StatesGroup):
    birth_date = State()


def skip_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t(lang, "skip"), callback_data="bd:skip")]])


def consent_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t(lang, "yes"), callback_data="consent:yes"),
                InlineKeyboardButton(text=t(lang, "no"), callback_data="consent:no"),
            ]
        ]
    )


async def ask_birth_date(message: Message, state: FSMContext, lang: str) -> None:
    await state.set_state(Profile.birth_date)
    await message.answer(t(lang, "ask_birthday"), reply_markup=skip_keyboard(lang))


def parse_birth_date(text: str, today: date) -> date | None:
    for pattern in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            value = datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
        return value if date(1900, 1, 1) <= value <= today else None
    return None


async def birth_date(message: Message, state: FSMContext, core: Core, member: Member | None, lang: str) -> None:
    value = parse_birth_date(message.text or "", core.clock.now().date())
    if member is None or value is None:
        await message.answer(t(lang, "bad_date"), reply_markup=skip_keyboard(lang))
        return
    async with core.transaction() as session:
        fresh = await session.get(Member, member.id)
        if fresh is not None and fresh.birth_date is None:  # set once; the cabinet shows it read-only
            fresh.birth_date, fresh.birth_mmdd = value, value.month * 100 + value.day
    await state.clear()
    await message.answer(t(lang, "ask_consent"), reply_markup=consent_keyboard(lang))


async def skip_birth_date(query: CallbackQuery, state: FSMContext, lang: str) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(t(lang, "ask_consent"), reply_markup=consent_keyboard(lang))


async def consent(query: CallbackQuery, core: Core, member: Member | None, lang: str) -> None:
    if member is None:
        await query.answer(t(lang, "register_first"), show_alert=True)
        return
    granted = query.data == "consent:yes"
    async with core.transaction() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        for channel in ("telegram", "sms"):
            await set_consent(session, core.clock, fresh, channel, granted, source="bot", method="telegram-button")
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(t(lang, "consent_yes" if granted else "consent_no"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(birth_date, Profile.birth_date, F.text, ~F.text.in_(MENU_BUTTONS))
    router.callback_query.register(skip_birth_date, F.data == "bd:skip")
    router.callback_query.register(consent, F.data.in_({"consent:yes", "consent:no"}))
    return router
