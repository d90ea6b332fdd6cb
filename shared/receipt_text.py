"""What the till prints, in the program's language."""

from __future__ import annotations

from typing import Any

from shared.plurals import points_text
from shared.program import ProgramRules

TEXTS = {
    "ru": {
        "redeemed": "Списано баллов: {n}",
        "accrue_pending": "Будет начислено: {n} (через {h} ч)",
        "accrue_now": "Начислено баллов: {n}",
        "birthday": "С днём рождения! Начисление {p}%",
        "balance": "Баланс: {n}",
        "anonymous": "Покажите карту лояльности, чтобы получать баллы",
        "promotion_discount": "Акция «{name}»: скидка {money}",
        "promotion_points": "Акция «{name}»: +{points}",
        "code_applied": "Промокод {code} применён",
        "code_refused": "Промокод {code} не применён: {reason}",
        "certificate": "Сертификат {number}: оплачено {money}, остаток {left}",
    },
    "en": {
        "redeemed": "Points redeemed: {n}",
        "accrue_pending": "Points to be earned: {n} (in {h} h)",
        "accrue_now": "Points earned: {n}",
        "birthday": "Happy birthday! Earning {p}%",
        "balance": "Balance: {n}",
        "anonymous": "Show your loyalty card to earn points",
        "promotion_discount": 'Promotion "{name}": discount {money}',
        "promotion_points": 'Promotion "{name}": +{points}',
        "code_applied": "Promo code {code} applied",
        "code_refused": "Promo code {code} not applied: {reason}",
        "certificate": "Certificate {number}: paid {money}, left {left}",
    },
}

# Why a code or certificate was refused, as the receipt prints it (the API's `reason` stays English).
REASONS = {
    "ru": {
        "unknown promo code": "неизвестный код",
        "promotion is not active": "акция не действует",
        "promo code is not valid yet": "ещё не действует",
        "promo code expired": "срок действия истёк",
        "promo code already used": "код уже использован",
        "promo code limit reached": "лимит использований исчерпан",
        "promo code already used by this member": "вы уже использовали этот код",
        "identify the member to use this promo code": "нужна карта лояльности",
        "promo code is not valid for this store or member": "не действует в этом магазине или для этой карты",
        "nothing on the receipt qualifies": "в чеке нет подходящих товаров",
    },
}


def money(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def promotion_lines(
    language: str, promotions: list[dict[str, Any]], code: dict[str, Any] | None, certificates: list[dict[str, Any]]
) -> list[str]:
    text = TEXTS.get(language, TEXTS["en"])
    lines = []
    for p in promotions:
        if p["discount"]:
            lines.append(text["promotion_discount"].format(name=p["name"], money=money(p["discount"])))
        if p["points"]:
            lines.append(text["promotion_points"].format(name=p["name"], points=points_text(p["points"], language)))
    if code is not None:
        if code["applied"]:
            lines.append(text["code_applied"].format(code=code["code"]))
        else:
            reason = REASONS.get(language, {}).get(code["reason"], code["reason"])
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
) -> list[str]:
    text = TEXTS.get(rules.language, TEXTS["en"])
    lines = promotion_lines(rules.language, promotions or [], code, certificates or [])
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
