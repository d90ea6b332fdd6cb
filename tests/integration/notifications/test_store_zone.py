"""A message a receipt triggered keeps the quiet hours of the store's zone, not the program's."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications.worker import Worker
from shared.clock import FixedClock
from shared.core import Core
from shared.events import EventKind, emit
from shared.stores import parse_store, save_store
from tests.integration.notifications.test_flow import channels, drain, member


async def test_a_tier_change_at_a_far_east_store_waits_for_the_stores_morning(core: Core, clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)  # 15:30 in Moscow (the program's zone), 22:30 Vladivostok
    async with core.transaction() as session:
        fields = parse_store({"code": "vvo-001", "name": "Владивосток", "time_zone": "Asia/Vladivostok"})
        await save_store(session, core.clock, fields, actor="test")
    shopper = await member(core)  # no zone of their own
    scripted = channels()
    worker = Worker(core, scripted)
    await drain(worker)
    scripted["viber"].sent.clear()
    async with core.transaction() as session:
        for store in ("vvo-001", "unknown-store"):
            payload = {"from": "standard", "to": "gold", "reason": "purchase", "store_id": store}
            await emit(session, EventKind.TIER_CHANGED, shopper.id, payload, clock.now())
    await drain(worker)
    assert [m.kind for m in scripted["viber"].sent] == ["tier_changed"]  # the unknown store: the program's zone
    clock.at = datetime(2026, 11, 22, 22, 59, tzinfo=UTC)  # 08:59 in Vladivostok
    await drain(worker)
    assert len(scripted["viber"].sent) == 1
    clock.at = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 09:00 in Vladivostok
    await drain(worker)
    assert [m.kind for m in scripted["viber"].sent] == ["tier_changed", "tier_changed"]
