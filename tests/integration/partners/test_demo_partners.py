"""The demo seeds two partners with a store and an agreement each, and receipts at them, so the
settlement of the month shows points issued at one partner and spent at the other, money both ways."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clock import FixedClock
from shared.core import Core
from shared.demo import seed_demo
from shared.settlement import Month, settlement


async def test_the_demo_settlement_shows_both_sides(core: Core, clock: FixedClock) -> None:
    clock.at = datetime(2026, 12, 20, 12, tzinfo=UTC)
    await seed_demo(core, members=15, days=40)
    async with core.reading() as session:
        result = await settlement(session, Month(2026, 12), core.rules.zone)
    lines = {line.partner: line for line in result.lines}
    pharmacy, bank = lines["Аптеки Здоровье"], lines["Банк Восток"]
    assert pharmacy.figures.issued > 0
    assert pharmacy.partner_pays == pharmacy.figures.issued * 50
    assert bank.figures.spent > 0
    assert bank.program_pays == bank.figures.spent * 85 or bank.program_pays == bank.figures.spent * 90
    assert lines[""].figures.issued > 0  # the retailer's own stores
