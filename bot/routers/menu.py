"""Balance, card, history and help for a registered member; a polite answer to anything else."""

from __future__ import annotations

import logging
from io import BytesIO

import qrcode
from aiogram import F, Router
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.types import BufferedInputFile, Message

from bot.keyboards import contact_keyboard, menu_keyboard, wallet_buttons
from bot.middlewares import WalletLinks
from bot.texts import button_texts, t
from shared import ledger
from shared.balance import balance_view
from shared.core import Core
from shared.db.models import Member
from shared.i18n import format_money

log = logging.getLogger("loyalty.bot")


def progress_bar(done: float, width: int = 10) -> str:
    filled = max(0, min(width, round(done * width)))
    return "▓" * filled + "░" * (width - filled) + f" {round(done * 100)}%"


async def _require(message: Message, member: Member | None, lang: str) -> Member | None:
    if member is None:
        await message.answer(t(lang, "register_first"), reply_markup=contact_keyboard(lang))
    return member


async def balance(message: Message, core: Core, member: Member | None, lang: str) -> None:
    if (member := await _require(message, member, lang)) is None:
        return
    now = core.clock.now()
    async with core.reading() as session:
        view = await balance_view(session, core.rules, member, now, language=lang)
        pending = await ledger.pending_lots(session, member.id)
    zone = core.rules.zone
    lines = "".join(
        t(lang, "pending_line", points=lot.points, date=lot.available_at.astimezone(zone).strftime("%d.%m %H:%M"))
        for lot in pending
    )
    expiring = sum(lot["points"] for lot in view["expiring"])
    tier = view["tier"]
    if tier["next"] is None:
        progress = t(lang, "top_tier")
    else:
        threshold = core.rules.tier(tier["next"]["code"]).threshold * 100
        needed = tier["next"]["spend_needed"]
        progress = t(
            lang,
            "progress",
            next=tier["next"]["name"],
            needed=format_money(needed, core.rules.currency, lang),
            bar=progress_bar(1 - needed / threshold if threshold else 1),
        )
    await message.answer(
        t(
            lang,
            "balance",
            available=view["available"],
            pending=view["pending"],
            pending_lines=lines,
            expiring=t(lang, "expiring", points=expiring) if expiring else "",
            tier=tier["name"],
            percent=tier["accrual_percent"],
            progress=progress,
        ),
        reply_markup=menu_keyboard(lang),
    )


async def card(message: Message, core: Core, member: Member | None, lang: str, wallet_links: WalletLinks) -> None:
    if (member := await _require(message, member, lang)) is None:
        return
    image = qrcode.make(member.card_number, box_size=10, border=2)
    buffer = BytesIO()
    image.save(buffer)
    links = wallet_links(core.settings, member, core.clock.now())
    public = core.settings.public_url
    cabinet = f"{public}/cabinet/telegram" if public.startswith("https://") else None
    buttons = wallet_buttons(lang, links["apple_url"], links["google_url"], cabinet)
    try:
        await message.answer_photo(
            BufferedInputFile(buffer.getvalue(), filename="card.png"),
            caption=t(lang, "card", card=member.card_number),
            reply_markup=buttons,
        )
    except (TelegramAPIError, ClientDecodeError) as exc:  # picture refused: the number still arrives
        log.warning("card picture not sent (%s): sending the number as text", type(exc).__name__)
        await message.answer(t(lang, "card_text", card=member.card_number), reply_markup=buttons)


async def help_(message: Message, core: Core, lang: str) -> None:
    await message.answer(
        t(lang, "help", rate=core.rules.tiers[0].accrual_percent, birthday=core.rules.birthday.accrual_percent)
    )


async def anything_else(message: Message, member: Member | None, lang: str) -> None:
    """Stickers, photos, voice, free text: a polite pointer, nothing stored."""
    if member is None:
        await message.answer(t(lang, "register_first"), reply_markup=contact_keyboard(lang))
    else:
        await message.answer(t(lang, "use_menu"), reply_markup=menu_keyboard(lang))


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(balance, F.text.in_(button_texts("btn_balance")))
    router.message.register(card, F.text.in_(button_texts("btn_card")))
    router.message.register(help_, F.text.in_(button_texts("btn_help")))
    router.message.register(help_, F.text == "/help")
    router.message.register(anything_else)
    return router
