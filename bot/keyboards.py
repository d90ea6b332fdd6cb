"""Reply and inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.texts import t


def contact_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=t(language, "share_contact"), request_contact=True)]],
                               resize_keyboard=True, one_time_keyboard=True)


def menu_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[
        [KeyboardButton(text=t(language, "btn_balance")), KeyboardButton(text=t(language, "btn_card"))],
        [KeyboardButton(text=t(language, "btn_history")), KeyboardButton(text=t(language, "btn_help"))],
    ], resize_keyboard=True)


def wallet_buttons(language: str, apple_url: str, google_url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t(language, "apple"), url=apple_url)],
        [InlineKeyboardButton(text=t(language, "google"), url=google_url)],
    ])
