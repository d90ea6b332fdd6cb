"""Reply and inline keyboards."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)

from bot.texts import t
from shared.vocabulary import CHANNELS


def contact_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t(language, "share_contact"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def menu_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t(language, "btn_balance")), KeyboardButton(text=t(language, "btn_card"))],
            [KeyboardButton(text=t(language, "btn_history")), KeyboardButton(text=t(language, "btn_offers"))],
            [KeyboardButton(text=t(language, "btn_settings")), KeyboardButton(text=t(language, "btn_help"))],
        ],
        resize_keyboard=True,
    )


def settings_keyboard(language: str, consents: dict[str, bool]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(text=("• " if language == "ru" else "") + "Русский", callback_data="lang:ru"),
            InlineKeyboardButton(text=("• " if language == "en" else "") + "English", callback_data="lang:en"),
        ]
    ]
    for channel in CHANNELS:
        mark = t(language, "on" if consents.get(channel) else "off")
        rows.append(
            [InlineKeyboardButton(text=f"{mark} {t(language, 'channel_' + channel)}", callback_data=f"ch:{channel}")]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def history_keyboard(language: str, older: int | None) -> InlineKeyboardMarkup | None:
    if older is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t(language, "older"), callback_data=f"hist:{older}")]]
    )


def wallet_buttons(
    language: str, apple_url: str, google_url: str, cabinet_url: str | None = None
) -> InlineKeyboardMarkup:
    """Wallet links, and the cabinet as a Mini App when there is an https URL (Telegram demands one)."""
    rows = [
        [InlineKeyboardButton(text=t(language, "apple"), url=apple_url)],
        [InlineKeyboardButton(text=t(language, "google"), url=google_url)],
    ]
    if cabinet_url is not None:
        rows.append([InlineKeyboardButton(text=t(language, "cabinet"), web_app=WebAppInfo(url=cabinet_url))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
