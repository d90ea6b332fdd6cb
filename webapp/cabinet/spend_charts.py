"""A member's own purchases by month and by category, drawn as inline SVG bar charts on the server."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Purchase

MONTHS = {
    "ru": ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
CATEGORY_NAMES = {
    "ru": {"food": "Продукты", "bakery": "Выпечка", "wine": "Вино", "spirits": "Крепкое", "services": "Услуги"},
    "en": {"food": "Food", "bakery": "Bakery", "wine": "Wine", "spirits": "Spirits", "services": "Services"},
}


@dataclass(frozen=True)
class Bar:
    label: str
    amount: int  # kopecks


@dataclass(frozen=True)
class SpendSummary:
    by_month: list[Bar]
    by_category: list[Bar]
    total: int
    count: int


async def spend_summary(
    session: AsyncSession, member_id: uuid.UUID, now: datetime, zone: ZoneInfo, language: str, other: str
) -> SpendSummary:
    """The last 12 months: money paid per local month, and line amounts per category (net of refunds)."""
    rows = (
        await session.execute(
            select(
                Purchase.purchased_at,
                Purchase.paid,
                Purchase.refunded_paid,
                Purchase.lines,
                Purchase.refunded_amount,
                Purchase.total,
            ).where(Purchase.member_id == member_id, Purchase.purchased_at > now - timedelta(days=366))
        )
    ).all()
    local_now = now.astimezone(zone)
    months: list[tuple[int, int]] = []
    year, month = local_now.year, local_now.month
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    per_month: dict[tuple[int, int], int] = defaultdict(int)
    per_category: dict[str, int] = defaultdict(int)
    total = 0
    for purchased_at, paid, refunded_paid, lines, refunded_amount, receipt_total in rows:
        local = purchased_at.astimezone(zone)
        key = (local.year, local.month)
        if key not in months:
            continue
        net = paid - refunded_paid
        per_month[key] += net
        total += net
        kept = 1 - (refunded_amount / receipt_total if receipt_total else 0)
        for line in lines or []:
            per_category[str(line.get("category") or "")] += int(int(line.get("amount", 0)) * kept)
    names = CATEGORY_NAMES.get(language, CATEGORY_NAMES["en"])
    categories = sorted(per_category.items(), key=lambda item: -item[1])
    return SpendSummary(
        by_month=[
            Bar(f"{MONTHS.get(language, MONTHS['en'])[m - 1]} {y % 100:02d}", per_month[(y, m)]) for y, m in months
        ],
        by_category=[
            Bar(names.get(code, code.capitalize() if code else other), amount)
            for code, amount in categories
            if amount > 0
        ],
        total=total,
        count=len(rows),
    )


def rubles(kopecks: int) -> str:
    return f"{kopecks // 100:,}".replace(",", "\u202f")


def bar_chart_svg(bars: list[Bar], title: str, unit: str) -> str:
    """Horizontal bars with their labels and sums as text, so the chart reads without colour or a mouse."""
    if not bars:
        return ""
    peak = max(bar.amount for bar in bars) or 1
    row, label_w, bar_w, value_w = 26, 70, 180, 90
    height = row * len(bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + bar_w + value_w} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
    ]
    for index, bar in enumerate(bars):
        y = index * row
        width = max(round(bar_w * bar.amount / peak), 1 if bar.amount else 0)
        parts.append(
            f'<text x="0" y="{y + 17}" class="l">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{width}" height="16" rx="3" class="b"/>'
            f'<text x="{label_w + width + 6}" y="{y + 17}" class="v">{rubles(bar.amount)} {unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
