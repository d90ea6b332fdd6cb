"""The demo fills the console's default report period: receipts run up to the day it is seeded,
with baskets of several categories, and seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.core import Core
from shared.db.models import Entry, Lot, Member, Purchase
from shared.demo import seed_demo
from shared.reports import REPORTS
from webapp.console.reports import period_from


async def _counts(core: Core) -> list[int]:
    async with core.reading() as session:
        return [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Member, Purchase, Lot, Entry)
        ]


async def test_the_last_30_days_report_shows_demo_purchases_with_mixed_baskets(core: Core) -> None:
    await seed_demo(core, members=40)
    period = period_from(core, None, None)  # what the console shows first
    async with core.reading() as session:
        result = await REPORTS["identified"].compute(session, core.rules, period)
        baskets = (await session.execute(select(Purchase.lines).where(Purchase.purchased_at >= period.start))).scalars()
        categories = [{line["category"] for line in lines} for lines in baskets]
    purchases = sum(row[1] for row in result.rows)
    assert purchases >= 5, result.headline
    assert not result.headline.endswith(" 0 purchases")
    assert sum(len(c) >= 2 for c in categories) >= len(categories) // 2  # most baskets mix categories


async def test_seeding_the_demo_twice_changes_nothing(core: Core) -> None:
    first = await seed_demo(core, members=10)
    before = await _counts(core)
    again = await seed_demo(core, members=10)
    assert first.seeded
    assert not again.seeded
    assert again.purchases == 0
    assert await _counts(core) == before
