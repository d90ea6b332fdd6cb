"""Concurrent tills on PostgreSQL: retries accrue once, redemptions never overdraw, one phone one member."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from shared import purchases
from shared.core import Core
from shared.db.models import Member, Purchase
from shared.errors import NotEnoughPoints
from shared.members import Registration, register
from tests.integration.core.helpers import confirm, member_row, new_member, receipt

pytestmark = [pytest.mark.postgres_only, pytest.mark.pgbouncer]


async def test_fifty_identical_confirms_accrue_once(core: Core) -> None:
    member = await new_member(core)
    body = receipt("SAME-1", amount=200000, redeem=50)
    answers = await asyncio.gather(*(confirm(core, body) for _ in range(50)))
    assert sum(created for _, created in answers) == 1
    assert len({str(answer) for answer, _ in answers}) == 1
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (50, 97)  # 100 − 50 spent; 5% of 1,950 ₽ pending
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(Purchase))).scalar_one() == 1


async def test_fifty_identical_confirms_over_http(core: Core, client: httpx.AsyncClient) -> None:
    member = await new_member(core)
    body = receipt("HTTP-1", amount=100000)
    responses = await asyncio.gather(*(client.post("/api/v1/purchases", json=body) for _ in range(50)))
    assert sorted(r.status_code for r in responses) == [200] * 49 + [201]
    assert len({r.text for r in responses}) == 1
    assert (await member_row(core, member.id)).pending == 50


async def test_fifty_concurrent_redemptions_never_overdraw(core: Core) -> None:
    member = await new_member(core)  # 100 points

    async def spend(n: int) -> int:
        try:
            answer, _ = await confirm(core, receipt(f"SPEND-{n}", amount=1000, redeem=7))
        except NotEnoughPoints:
            return 0
        return int(answer["redeem"]["applied"])

    spent = await asyncio.gather(*(spend(n) for n in range(50)))
    assert sum(spent) == 98  # fourteen receipts of 7 points; the fifteenth would overdraw
    row = await member_row(core, member.id)
    assert row.available == 2
    assert row.debt == 0


async def test_concurrent_registrations_of_one_phone_make_one_member(core: Core) -> None:
    async def one() -> bool:
        async with core.transaction() as session:
            _, created = await register(session, core.clock, core.rules, Registration(phone="8 912 345 67 89"))
            return created

    created = await asyncio.gather(*(one() for _ in range(20)))
    assert sum(created) == 1
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(Member))).scalar_one() == 1


async def test_refunds_race_with_purchases_without_losing_points(core: Core) -> None:
    member = await new_member(core)
    for n in range(10):
        await confirm(core, receipt(f"B-{n}", amount=100000))

    async def refund_one(n: int) -> None:
        async with core.transaction() as session:
            await purchases.refund(
                session, core.clock, core.rules, "msk-001", f"B-{n}", {"refund_id": "r", "amount": 100000}
            )

    await asyncio.gather(*(refund_one(n) for n in range(10)), *(confirm(core, receipt(f"C-{n}")) for n in range(10)))
    row = await member_row(core, member.id)
    assert (row.available, row.pending) == (100, 500)
