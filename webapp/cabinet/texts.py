"""Every word of the cabinet in ru (default) and en: the `cabinet` part of the message catalogue
(shared/locales/*/LC_MESSAGES/messages.po, msgctxt "cabinet")."""

from __future__ import annotations

from typing import Any

from shared import i18n
from shared.i18n import LANGUAGES

__all__ = ["LANGUAGES", "points_word", "translator"]

CONTEXT = "cabinet"


def points_word(language: str) -> Any:
    """`points_word(n)` for templates: the noun that goes after the number n (балл, балла, баллов)."""

    def word(n: int) -> str:
        return i18n.points_word(int(n), language)

    return word


def translator(language: str) -> Any:
    """`t(key, **values)` for templates, in the given language (ru when unknown)."""

    def t(key: str, **values: object) -> str:
        return i18n.text(language, CONTEXT, key, **values)

    return t
