"""Everything the bot says, in Russian (default) and English: the `bot` part of the message catalogue
(shared/locales/*/LC_MESSAGES/messages.po, msgctxt "bot")."""

from __future__ import annotations

from typing import Any

from shared.i18n import LANGUAGES, text

CONTEXT = "bot"


def language_of(code: str | None) -> str:
    return "ru" if not code or code.split("-")[0].lower() != "en" else "en"


def t(language: str, key: str, **values: Any) -> str:
    return text(language, CONTEXT, key, **values)


def button_texts(key: str) -> set[str]:
    """A menu button in any language (the keyboard a user has may predate a language change)."""
    return {text(language, CONTEXT, key) for language in LANGUAGES}
