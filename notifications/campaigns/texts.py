"""The texts marketers write for campaigns and chains: checked when saved (allowed fields, filters
and tags only, filled in on a sample member), checked again before sending, and picked per member
in their language."""

from __future__ import annotations

from typing import Any

from notifications.campaigns.audience import member_fields
from notifications.templates import Rendered, TextRefused, refusal_of, render_custom
from shared.config import Settings
from shared.db.models.campaigns import CONTROL
from shared.errors import FieldErrors
from shared.offers.personal import OfferView
from shared.vocabulary import LANGUAGES

SAMPLE = {
    "language": "ru",
    "program": "Program",
    "card_url": "https://example.org/card",
    "unsubscribe_url": None,
    "unsubscribe_label": "",
    "name": "Anna",
    "card": "2000000000001",
    "balance": 1234,
    "pending": 0,
    "tier": "Gold",
    "percent": 10,
    "offer": "×2 баллов на категорию «coffee» до 31 декабря",
}
SAMPLE_OFFER_EN = '2× points on the category "coffee" until 31 December'


def render_for(
    settings: Settings, row: Any, templates: dict[str, Any], channel: str, offer: OfferView | None = None
) -> tuple[str, Rendered]:
    """One variant's text for one member (a row of MEMBER_FIELDS) on one channel, in their language."""
    context = member_fields(settings, row, offer)
    return context["language"], render_custom(
        channel, texts_for(templates, context["language"], [channel])[channel], context
    )


def texts_for(templates: dict[str, Any], language: str, channels: list[str]) -> dict[str, dict[str, str]]:
    """The texts of each channel in the member's language (Russian when there is no translation)."""
    return {ch: templates[ch].get(language) or templates[ch]["ru"] for ch in channels}


def check_variants(errors: FieldErrors, channels: list[str], variants: Any) -> list[dict[str, Any]]:
    if not isinstance(variants, list) or not 1 <= len(variants) <= 5:
        errors.add("variants", "give 1 to 5 variants")
        return []
    codes: set[str] = set()
    for i, variant in enumerate(variants):
        at = f"variants[{i}]"
        code, weight, templates = variant.get("code"), variant.get("weight", 1), variant.get("templates")
        if not isinstance(code, str) or not code.strip() or len(code) > 16 or code == CONTROL or code in codes:
            errors.add(f"{at}.code", "must be a unique short name (not 'control')")
        codes.add(str(code))
        if type(weight) is not int or not 1 <= weight <= 100:
            errors.add(f"{at}.weight", "must be from 1 to 100")
        if not isinstance(templates, dict):
            errors.add(f"{at}.templates", "must give the texts per channel")
            continue
        for channel in channels:
            for language in LANGUAGES:
                texts = (templates.get(channel) or {}).get(language)
                field = f"{at}.templates.{channel}.{language}"
                if texts is None and language != "ru":
                    continue  # members reading English get the Russian text
                if not isinstance(texts, dict) or not str(texts.get("text", "")).strip():
                    errors.add(field, "needs a text")
                    continue
                if channel == "email" and not str(texts.get("subject", "")).strip():
                    errors.add(field, "an e-mail needs a subject")
                _check_texts(errors, field, channel, texts, language)
    return variants


def _check_texts(errors: FieldErrors, field: str, channel: str, texts: dict[str, Any], language: str) -> None:
    """Each text staff typed: allowed fields, filters and tags only (templates.staff_texts), then
    filled in on the sample member, so a text that would fail at sending fails here."""
    refused = False
    for key, at in (("text", field), ("subject", f"{field}.subject")):
        source = texts.get(key)
        refusal = refusal_of(source) if isinstance(source, str) else None
        if refusal is not None:
            errors.add(at, refusal.text("en"))
            refused = True
    if refused:
        return
    try:
        render_custom(channel, texts, sample_context(language))
    except TextRefused as exc:
        errors.add(field, exc.refusal.text("en"))


def refused_texts(templates: Any) -> list[str]:
    """Channel.language of each stored text that may not run (checked again before sending)."""
    if not isinstance(templates, dict):
        return ["templates"]
    bad = []
    for channel, languages in templates.items():
        for language, texts in languages.items() if isinstance(languages, dict) else [("*", None)]:
            if (
                not isinstance(texts, dict)
                or not isinstance(texts.get("text"), str)
                or any(
                    texts.get(key) is not None and (not isinstance(texts[key], str) or refusal_of(texts[key]))
                    for key in ("text", "subject")
                )
            ):
                bad.append(f"{channel}.{language}")
    return bad


def sample_member(settings: Settings, language: str = "ru") -> dict[str, Any]:
    """A made-up member to preview texts on (nobody's data)."""
    return {
        **sample_context(language if language in LANGUAGES else "ru"),
        "program": settings.program.name,
        "card_url": f"{settings.public_url}/card",
    }


def sample_context(language: str) -> dict[str, Any]:
    return {**SAMPLE, "language": language} | ({"offer": SAMPLE_OFFER_EN} if language == "en" else {})
