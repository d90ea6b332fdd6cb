"""The demo has an audience for the console's campaign walk: Gold members quiet for 60+ days,
some of them reachable on Telegram."""

from __future__ import annotations

from shared.core import Core
from shared.demo import LAPSED_GOLD, seed_demo
from shared.segments import count_members


async def test_the_demo_has_gold_members_who_stopped_buying_and_telegram_links(core: Core) -> None:
    report = await seed_demo(core, members=8)
    assert report.members == 8 + LAPSED_GOLD
    lapsed_gold = {"tiers": ["gold"], "last_purchase_days_min": 60}
    async with core.reading() as session:
        quiet = await count_members(session, core.rules, lapsed_gold, core.clock.now())
        on_telegram = await count_members(
            session, core.rules, {**lapsed_gold, "channels": ["telegram"]}, core.clock.now()
        )
        linked = await count_members(session, core.rules, {"channels": ["telegram"]}, core.clock.now())
    assert LAPSED_GOLD <= quiet <= LAPSED_GOLD + 8  # the 8 random members may add a few
    assert LAPSED_GOLD // 2 <= on_telegram <= LAPSED_GOLD // 2 + 2
    assert linked == LAPSED_GOLD // 2 + 2  # demo members 0 and 4 linked the bot too
