"""One message catalogue for every text a person reads: gettext `.po` files under `shared/locales/`.

The `.po` files are read with Babel when a language is first used (no compile step: a clean clone works as
it is). Plural forms come from the catalogue header, which Babel writes from CLDR (ru: one/few/many; en:
one/other). Money goes through Babel's `format_currency` with the program's currency.

Two kinds of msgid live in the catalogue (see docs/translations.md):
- texts moved from the old per-package dicts keep their key as msgid and the package as msgctxt
  (`pgettext("cabinet", "nav_card")`), so templates and handlers still ask for a text by its key;
- the console is written in English in its templates (`{% trans %}Members{% endtrans %}`); that English is
  the msgid, and ru.po translates it (en.po repeats it, so every entry exists in both languages).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_symbol
from babel.support import Translations

from shared.vocabulary import DEFAULT_LANGUAGE, LANGUAGES

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALES_DIR",
    "best_language",
    "catalog",
    "currency_symbol",
    "format_money",
    "gettext",
    "keys",
    "ngettext",
    "npgettext",
    "pgettext",
    "points_text",
    "points_word",
    "text",
    "translations",
]


LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def catalog(language: str) -> Any:
    """The parsed `.po` file of a language (a babel Catalog)."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fp:
        return read_po(fp, locale=language, domain=DOMAIN)


@cache
def translations(language: str | None) -> Translations:
    """gettext translations for a language, built from its `.po` file once per process."""
    buffer = BytesIO()
    write_mo(buffer, catalog(_language(language)))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _format(text: str, values: dict[str, Any]) -> str:
    return text.format(**values) if values else text


def gettext(language: str | None, message: str, **values: Any) -> str:
    return _format(translations(language).gettext(message), values)


def ngettext(language: str | None, singular: str, plural: str, n: int, **values: Any) -> str:
    return _format(translations(language).ngettext(singular, plural, abs(n)), {"n": n, **values})


def pgettext(language: str | None, context: str, message: str, **values: Any) -> str:
    return _format(str(translations(language).pgettext(context, message)), values)


def npgettext(language: str | None, context: str, singular: str, plural: str, n: int, **values: Any) -> str:
    return _format(str(translations(language).npgettext(context, singular, plural, abs(n))), {"n": n, **values})


def text(language: str | None, context: str, key: str, **values: Any) -> str:
    """A keyed text of one part of the product (msgctxt = the part, msgid = the key), formatted with values."""
    return _format(str(translations(language).pgettext(context, key)), values)


@cache
def keys(context: str) -> tuple[str, ...]:
    """Every key of one part of the product, in catalogue order."""
    return tuple(m.id for m in catalog(DEFAULT_LANGUAGE) if m.context == context and isinstance(m.id, str) and m.id)


def points_text(n: int, language: str | None = DEFAULT_LANGUAGE) -> str:
    """`1 балл`, `2 балла`, `5 баллов`; `1 point`, `2 points` (CLDR plural rules)."""
    return npgettext(language, "points", "{n} point", "{n} points", n)


def points_word(n: int, language: str | None = DEFAULT_LANGUAGE) -> str:
    """The noun alone, for layouts that print the number apart: балл / балла / баллов."""
    return npgettext(language, "points", "point", "points", n)


@cache
def _money_pattern(language: str, whole: bool) -> str:
    pattern: str = Locale.parse(language).currency_formats["standard"].pattern
    pattern = pattern.split(";", 1)[0]
    return pattern.replace(".00", "") if whole else pattern


def format_money(minor: int, currency: str, language: str | None = DEFAULT_LANGUAGE) -> str:
    """An amount in minor units (kopecks, cents) in the language's way: `1 000 ₽`, `RUB 1,000.50`.

    Whole amounts drop the zero fraction, as shop texts do ("от 30 000 ₽ в год")."""
    language = _language(language)
    whole = minor % 100 == 0
    amount = Decimal(minor) / 100
    return format_currency(
        amount, currency, format=_money_pattern(language, whole), locale=language, currency_digits=not whole
    )


def currency_symbol(currency: str, language: str | None = DEFAULT_LANGUAGE) -> str:
    """₽ for RUB in Russian, the code or the sign elsewhere, as CLDR has it."""
    return str(get_currency_symbol(currency, locale=_language(language)))


def best_language(accept_language: str | None) -> str:
    """ru or en from an Accept-Language header, by the order and weights the browser gave; ru otherwise."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().lower().split("-", 1)[0]
        if primary in LANGUAGES and weight > 0:
            choices.append((-weight, index, primary))
    return min(choices)[2] if choices else DEFAULT_LANGUAGE
