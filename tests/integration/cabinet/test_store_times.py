"""The cabinet's history shows a receipt's points at the store's local time; other rows at the member's."""

from __future__ import annotations

import httpx

from shared.core import Core
from shared.stores import parse_store, save_store
from tests.integration.cabinet.conftest import make_member, sign_in
from tests.integration.cabinet.test_pages import buy


async def test_a_receipt_in_vladivostok_shows_vladivostok_time(web: httpx.AsyncClient, core: Core) -> None:
    async with core.transaction() as session:
        fields = parse_store({"code": "msk-001", "name": "Far east", "time_zone": "Asia/Vladivostok"})
        await save_store(session, core.clock, fields, actor="test")
    member = await make_member(core)  # 09:00 UTC: 12:00 in Moscow (the program's zone)
    await buy(core, member, "R1", [{"sku": "1", "quantity": 1, "price": 10000, "amount": 10000}])
    await sign_in(web, core)
    page = (await web.get("/cabinet/history")).text
    assert "22.11.2026 19:00" in page  # the receipt: 19:00 in Vladivostok
    assert "22.11.2026 12:00" in page  # the welcome bonus: the member's (program's) zone
