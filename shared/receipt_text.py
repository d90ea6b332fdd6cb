"""What the till prints, in the program's language."""

from __future__ import annotations

from shared.program import ProgramRules

TEXTS = {
    "ru": {
        "redeemed": "Списано баллов: {n}",
        "accrue_pending": "Будет начислено: {n} (через {h} ч)",
        "accrue_now": "Начислено баллов: {n}",
        "birthday": "С днём рождения! Начисление {p}%",
        "balance": "Баланс: {n}",
        "anonymous": "Покажите карту лояльности, чтобы получать баллы",
    },
    "en": {
        "redeemed": "Points redeemed: {n}",
        "accrue_pending": "Points to be earned: {n} (in {h} h)",
        "accrue_now": "Points earned: {n}",
        "birthday": "Happy birthday! Earning {p}%",
        "balance": "Balance: {n}",
        "anonymous": "Show your loyalty card to earn points",
    },
}


def receipt_lines(
    rules: ProgramRules, redeemed: int, accrued: int, balance_after: int | None, birthday: bool
) -> list[str]:
    text = TEXTS.get(rules.language, TEXTS["en"])
    if balance_after is None:
        return [text["anonymous"]]
    lines = []
    if redeemed:
        lines.append(text["redeemed"].format(n=redeemed))
    if accrued:
        key = "accrue_pending" if rules.pending_hours else "accrue_now"
        lines.append(text[key].format(n=accrued, h=rules.pending_hours))
    if birthday:
        lines.append(text["birthday"].format(p=rules.birthday.accrual_percent))
    lines.append(text["balance"].format(n=balance_after))
    return lines
