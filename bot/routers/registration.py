"""/start: share your own contact, get a card (or find the one the till already issued)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.keyboards import contact_keyboard, menu_keyboard
from bot.routers.profile import ask_birth_date
from bot.texts import t
from shared.core import Core
from shared.db.models import Member
from shared.errors import InvalidInput
from shared.inputs import strip_control
from shared.members import Registration, find_by_phone, register
from shared.phones import mask_phone, normalize_phone

log = logging.getLogger("loyalty.bot")


async def start(message: Message, command: CommandObject, state: FSMContext, member: Member | None, lang: str) -> None:
    if member is not None:
        await message.answer(
            t(lang, "welcome_linked", card=member.card_number, balance=member.available),
            reply_markup=menu_keyboard(lang),
        )
        return
    if command.args:  # deep link: store, campaign or referral the user came from
        await state.update_data(source=strip_control(command.args)[:128] or None)
    await message.answer(t(lang, "ask_contact"), reply_markup=contact_keyboard(lang))


async def contact(message: Message, state: FSMContext, core: Core, member: Member | None, lang: str) -> None:
    shared = message.contact
    assert shared is not None
    assert message.from_user is not None
    if shared.user_id != message.from_user.id:  # only one's own number proves the phone is theirs
        await message.answer(t(lang, "not_your_contact"), reply_markup=contact_keyboard(lang))
        return
    try:
        phone = normalize_phone(
            shared.phone_number if shared.phone_number.startswith("+") else "+" + shared.phone_number,
            core.rules.phone_region,
        )
    except InvalidInput:
        await message.answer(t(lang, "not_your_contact"), reply_markup=contact_keyboard(lang))
        return
    source = (await state.get_data()).get("source")
    # A Telegram name is whatever the user typed there: control characters become spaces, long ones are cut.
    first_name = strip_control(message.from_user.first_name or "")[:100].strip() or None
    async with core.transaction() as session:
        existing = await find_by_phone(session, phone)
        if existing is not None and existing.telegram_user_id not in (None, message.from_user.id):
            await message.answer(t(lang, "linked_elsewhere"))
            return
        if existing is not None:
            existing.telegram_user_id = message.from_user.id
            found, created = existing, False
        else:
            found, created = await register(
                session,
                core.clock,
                core.rules,
                Registration(
                    phone=phone,
                    first_name=first_name,
                    source="bot",
                    referral=source,
                    language=lang,
                    telegram_user_id=message.from_user.id,
                    consent_method="telegram-contact",
                ),
            )
    await state.clear()
    log.info("telegram user linked to %s (%s)", mask_phone(phone), "new" if created else "existing")
    key = "welcome_new" if created else "welcome_linked"
    await message.answer(
        t(lang, key, card=found.card_number, balance=found.available), reply_markup=menu_keyboard(lang)
    )
    if created:  # the profile questions are for newcomers; a till member keeps what the till recorded
        await ask_birth_date(message, state, lang)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(contact, F.contact)
    return router
