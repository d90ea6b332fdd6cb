"""Offers (the program's rules), settings (language, channels on/off) and history pages."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select

from bot.keyboards import history_keyboard, menu_keyboard, settings_keyboard
from bot.texts import button_texts, t
from shared.core import Core
from shared.db.models import Entry, Member
from shared.i18n import format_money, text
from shared.members import consents_of, mark_updated, set_consent
from shared.offers.personal import CONTEXT as OFFERS_CONTEXT
from shared.offers.personal import offer_text, offers_of
from shared.provenance import place_text, with_place
from shared.vocabulary import CHANNELS, LANGUAGES

PAGE = 10


async def offers(message: Message, core: Core, member: Member | None, lang: str) -> None:
    """The program's standing offers; a registered member's personal ones ("For you") first."""
    rules = core.rules
    personal = ""
    if member is not None:
        async with core.reading() as session:
            mine = await offers_of(session, member.id, core.clock.now())
        if mine:
            lines = "\n".join("• " + offer_text(offer, rules, lang) for offer in mine)
            personal = f"{text(lang, OFFERS_CONTEXT, 'title')}:\n{lines}\n\n"
    tiers = "\n".join(
        t(
            lang,
            "tier_line",
            name=tier.title(lang),
            threshold=format_money(tier.threshold * 100, rules.currency, lang),
            percent=tier.accrual_percent,
        )
        for tier in rules.tiers
    )
    await message.answer(
        personal
        + t(
            lang,
            "offers",
            tiers=tiers,
            birthday=rules.birthday.accrual_percent,
            pending=rules.pending_hours,
            expiry=rules.expiry_days,
            cap=rules.redemption_cap_percent,
        )
    )


async def _consents(core: Core, member: Member) -> dict[str, bool]:
    async with core.reading() as session:
        return {channel: c.granted for channel, c in (await consents_of(session, member.id)).items()}


async def settings(message: Message, core: Core, member: Member | None, lang: str) -> None:
    if member is None:
        await message.answer(t(lang, "register_first"))
        return
    await message.answer(t(lang, "settings"), reply_markup=settings_keyboard(lang, await _consents(core, member)))


async def change_setting(query: CallbackQuery, core: Core, member: Member | None, lang: str) -> None:
    """Language and channel toggles; an old button pressed by someone unregistered gets a polite no."""
    if member is None or query.data is None:
        await query.answer(t(lang, "register_first"), show_alert=True)
        return
    kind, _, value = query.data.partition(":")
    async with core.transaction() as session:
        fresh = await session.get(Member, member.id)
        assert fresh is not None
        if kind == "lang" and value in LANGUAGES:
            fresh.language = lang = value
            await mark_updated(session, fresh, ["language"], core.clock.now())
        elif kind == "ch" and value in CHANNELS:
            current = {c: v.granted for c, v in (await consents_of(session, fresh.id)).items()}
            await set_consent(
                session,
                core.clock,
                fresh,
                value,
                not current.get(value, False),
                source="bot",
                method="telegram-settings",
            )
    await query.answer(t(lang, "saved"))
    if isinstance(query.message, Message):
        await query.message.edit_text(
            t(lang, "settings"), reply_markup=settings_keyboard(lang, await _consents(core, member))
        )
        if kind == "lang":
            await query.message.answer(t(lang, "menu"), reply_markup=menu_keyboard(lang))


async def history_page(core: Core, member: Member, lang: str, before: int | None) -> tuple[str, int | None]:
    async with core.reading() as session:
        stmt = with_place(select(Entry)).where(Entry.member_id == member.id).order_by(Entry.id.desc()).limit(PAGE + 1)
        if before is not None:
            stmt = stmt.where(Entry.id < before)
        rows = (await session.execute(stmt)).all()
    if not rows:
        return t(lang, "history_empty"), None
    lines = "\n".join(_history_line(core, lang, *row) for row in rows[:PAGE])
    return t(lang, "history", lines=lines), rows[PAGE - 1][0].id if len(rows) > PAGE else None


def _history_line(
    core: Core, lang: str, e: Entry, store_id: str | None, store: str | None, _: str | None, partner: str | None
) -> str:
    """`22.11 +12 comment · where`: the place is the receipt's store, and its partner if it has one."""
    line = f"{e.created_at.astimezone(core.rules.zone):%d.%m} {e.points:+d} {e.comment or e.kind}"
    place = place_text(lang, store_id, store, partner)
    return f"{line} · {place}" if place else line


async def history(message: Message, core: Core, member: Member | None, lang: str) -> None:
    if member is None:
        await message.answer(t(lang, "register_first"))
        return
    text, older = await history_page(core, member, lang, None)
    await message.answer(text, reply_markup=history_keyboard(lang, older))


async def history_more(query: CallbackQuery, core: Core, member: Member | None, lang: str) -> None:
    before = (query.data or "").partition(":")[2]
    if member is None or not before.isdigit():
        await query.answer(t(lang, "register_first"), show_alert=True)
        return
    text, older = await history_page(core, member, lang, int(before))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=history_keyboard(lang, older))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(offers, F.text.in_(button_texts("btn_offers")))
    router.message.register(settings, F.text.in_(button_texts("btn_settings")))
    router.message.register(history, F.text.in_(button_texts("btn_history")))
    router.callback_query.register(change_setting, F.data.startswith("lang:") | F.data.startswith("ch:"))
    router.callback_query.register(history_more, F.data.startswith("hist:"))
    return router
