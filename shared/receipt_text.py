"""What the till prints, in the program's language."""

from __future__ import annotations

from typing import Any

from shared import i18n
from shared.i18n import LANGUAGES, points_text
from shared.program import ProgramRules
from shared.promotions.terms import PERSONAL

CONTEXT = "receipt"  # the till's part of the message catalogue (shared/locales), msgid = key
# Why a code or certificate was refused, as the receipt prints it (the API's `reason` stays English):
# msgctxt "receipt_reason", msgid = the English reason.
REASONS_CONTEXT = "receipt_reason"


def _language(language: str) -> str:
    """The till prints English for a language we do not have (the API's own language)."""
    return language if language in LANGUAGES else "en"


def _texts(language: str) -> dict[str, str]:
    language = _language(language)
    return {key: i18n.text(language, CONTEXT, key) for key in i18n.keys(CONTEXT)}


def money(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def promotion_lines(
    language: str, promotions: list[dict[str, Any]], code: dict[str, Any] | None, certificates: list[dict[str, Any]]
) -> list[str]:
    text = _texts(language)
    lines = []
    for p in promotions:
        if p["discount"]:
            lines.append(text["promotion_discount"].format(name=p["name"], money=money(p["discount"])))
        if p["points"]:
            key = "personal_points" if p["kind"] == PERSONAL else "promotion_points"
            lines.append(text[key].format(name=p["name"], points=points_text(p["points"], language)))
    if code is not None:
        if code["applied"]:
            lines.append(text["code_applied"].format(code=code["code"]))
        else:
            reason = i18n.text(_language(language), REASONS_CONTEXT, code["reason"])
            lines.append(text["code_refused"].format(code=code["code"], reason=reason))
    for cert in certificates:
        if cert["applied"]:
            lines.append(
                text["certificate"].format(
                    number=cert["number"][-4:].rjust(8, "*"), money=money(cert["applied"]), left=money(cert["balance"])
                )
            )
    return lines


def receipt_lines(
    rules: ProgramRules,
    redeemed: int,
    accrued: int,
    balance_after: int | None,
    birthday: bool,
    *,
    promotions: list[dict[str, Any]] | None = None,
    code: dict[str, Any] | None = None,
    certificates: list[dict[str, Any]] | None = None,
    partner: str | None = None,
) -> list[str]:
    """`partner`: the coalition partner whose store this is; the receipt says whose points moved there."""
    text = _texts(rules.language)
    lines = [text["partner"].format(name=partner)] if partner else []
    lines += promotion_lines(rules.language, promotions or [], code, certificates or [])
    if balance_after is None:
        return [*lines, text["anonymous"]]
    if redeemed:
        lines.append(text["redeemed"].format(n=redeemed))
    if accrued:
        key = "accrue_pending" if rules.pending_hours else "accrue_now"
        lines.append(text[key].format(n=accrued, h=rules.pending_hours))
    if birthday:
        lines.append(text["birthday"].format(p=rules.birthday.accrual_percent))
    lines.append(text["balance"].format(n=balance_after))
    return lines
