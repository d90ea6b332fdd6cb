"""A pass's `locations`: the ten stores nearest the member's home store (where they registered, else
where they first bought), each with a lock-screen line in the member's language."""

from __future__ import annotations

from shared import purchases
from shared.core import Core
from shared.members import Registration, register
from shared.stores import parse_store, save_store
from wallet.passkit_service import pass_data

STORES = [
    ("msk-home", "Москва, дом", "55.75", "37.61"),
    ("spb-001", "Питер", "59.93", "30.35"),
    ("nsk-001", "Новосибирск", "55.03", "82.92"),
    ("nsk-002", "Новосибирск 2", "55.05", "82.95"),
    ("vvo-001", "Владивосток", "43.12", "131.89"),
    ("nowhere", "Без координат", "", ""),
    *((f"msk-{i:03d}", f"Москва {i}", f"{55.70 + i / 100:.2f}", "37.60") for i in range(12)),
]


async def _stores(core: Core) -> None:
    async with core.transaction() as session:
        for code, name, lat, lon in STORES:
            fields = parse_store(
                {"code": code, "name": name, "time_zone": "Europe/Moscow", "latitude": lat, "longitude": lon}
            )
            await save_store(session, core.clock, fields, actor="test")


async def test_a_moscow_member_gets_the_ten_moscow_stores_in_english(core: Core) -> None:
    await _stores(core)
    async with core.transaction() as session:
        member, _ = await register(
            session, core.clock, core.rules, Registration(phone="+79160000001", store_id="msk-home", language="en")
        )
        data = await pass_data(session, core.rules, member)
    assert len(data.locations) == 10
    assert data.locations[0]["relevantText"] == "A store nearby: Москва, дом"
    texts = {str(location["relevantText"]) for location in data.locations}
    assert all(text.startswith("A store nearby: Москва") for text in texts)


async def test_without_a_registration_store_the_first_purchase_decides(core: Core) -> None:
    await _stores(core)
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone="+79160000002"))
    for store, receipt, hours in (("nsk-002", "R1", 0), ("msk-001", "R2", 1)):
        async with core.transaction() as session:
            await purchases.confirm(
                session,
                core.clock,
                core.rules,
                {
                    "store_id": store,
                    "receipt_id": receipt,
                    "purchased_at": (core.clock.now().replace(hour=hours)).isoformat(),
                    "member": {"member_id": str(member.id)},
                    "lines": [{"sku": "1", "quantity": 1, "price": 10000, "amount": 10000}],
                },
            )
    async with core.transaction() as session:
        fresh = await session.get(type(member), member.id)
        assert fresh is not None
        data = await pass_data(session, core.rules, fresh)
    assert [location["relevantText"] for location in data.locations[:2]] == [
        "Магазин рядом: Новосибирск 2",
        "Магазин рядом: Новосибирск",
    ]
    assert data.locations[-1]["relevantText"] != "Магазин рядом: Без координат"
