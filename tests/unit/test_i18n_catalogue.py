"""The message catalogue: every entry exists in ru and en with the same placeholders; money and languages."""

from __future__ import annotations

import re

import pytest

from shared.i18n import LANGUAGES, best_language, catalog, format_money, ngettext, points_text

# str.format fields, %-style fields of the console templates, and the variables a message template prints.
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}|%\([a-z_]+\)s|\{\{ ?[a-z_]+|%@")


def _entries(language: str) -> dict[tuple[str | None, str], object]:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog(language) if m.id}


def _forms(message: object) -> list[str]:
    value = message.string  # type: ignore[attr-defined]
    return list(value) if isinstance(value, (tuple, list)) else [value]


def test_every_message_has_a_ru_and_an_en_translation_with_the_same_placeholders() -> None:
    by_language = {language: _entries(language) for language in LANGUAGES}
    keys = set().union(*by_language.values())
    assert keys
    for language, entries in by_language.items():
        missing = sorted(str(key) for key in keys - entries.keys())
        assert not missing, f"{language}: no entry for {missing[:5]}"
        for key, message in entries.items():
            forms = _forms(message)
            assert forms, f"{language}: no translation of {key}"
            assert all(form.strip() for form in forms), f"{language}: empty translation of {key}"
            source = message.id if isinstance(message.id, str) else message.id[1]  # type: ignore[attr-defined]
            wanted = set(PLACEHOLDER.findall(source)) if key[0] is None else None
            reference = set(PLACEHOLDER.findall(_forms(by_language["ru"][key])[-1]))
            for form in forms:
                found = set(PLACEHOLDER.findall(form))
                assert found == (wanted if wanted is not None else reference), f"{language}: {key}: {form!r}"


def test_plural_forms_follow_cldr() -> None:
    assert catalog("ru").num_plurals == 3
    assert catalog("en").num_plurals == 2
    assert [points_text(n, "ru") for n in (1, 2, 5, 21, 111)] == [
        "1 балл",
        "2 балла",
        "5 баллов",
        "21 балл",
        "111 баллов",
    ]
    assert ngettext("en", "{n} point", "{n} points", 1) == "1 point"


@pytest.mark.parametrize(
    ("minor", "currency", "language", "text"),
    [
        (3_000_000, "RUB", "ru", "30\xa0000\xa0₽"),
        (150, "RUB", "ru", "1,50\xa0₽"),
        (3_000_000, "EUR", "ru", "30\xa0000\xa0€"),
        (123_456, "USD", "en", "$1,234.56"),
        (100_000, "USD", "en", "$1,000"),
    ],
)
def test_money_uses_the_currency_given(minor: int, currency: str, language: str, text: str) -> None:
    assert format_money(minor, currency, language) == text


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "ru"),
        ("", "ru"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9", "ru"),
        ("de,en;q=0.5,ru;q=0.4", "en"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("en;q=0.2,ru;q=0.9", "ru"),
        ("en;q=0", "ru"),
        ("garbage;q=x", "ru"),
    ],
)
def test_the_browser_language_is_ru_or_en_and_russian_when_neither(header: str | None, language: str) -> None:
    assert best_language(header) == language


def test_every_part_of_the_product_reads_its_texts_from_the_catalogue() -> None:
    from bot.texts import t
    from notifications.templates.catalog import kinds
    from shared.i18n import keys, text
    from webapp.cabinet.texts import translator

    for context in ("bot", "cabinet", "unsubscribe", "receipt", "receipt_reason", "messages", "wallet"):
        assert keys(context), context
    assert t("en", "btn_help") == "❓ Help"
    assert translator("ru")("code_sent", phone="+7 916") == "Код отправлен на +7 916."
    assert "points_accrued" in kinds()
    # Apple Wallet puts the new number where %@ stands: no noun after it to disagree with the number.
    assert text("ru", "wallet", "change") == "Баланс баллов: %@"


def test_every_console_text_in_the_templates_is_in_the_catalogue() -> None:
    from babel.messages.extract import extract_from_dir

    from webapp.site import TEMPLATES_DIR

    found = extract_from_dir(
        str(TEMPLATES_DIR / "console"),
        method_map=[("**.j2", "jinja2")],
        options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}},
    )
    msgids = {message if isinstance(message, str) else message[0] for _file, _line, message, _c, _ctx in found}
    assert len(msgids) > 200
    known = {(key[1]) for key in _entries("ru") if key[0] is None}
    assert sorted(msgids - known) == []
