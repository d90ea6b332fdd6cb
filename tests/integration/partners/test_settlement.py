"""Settlements add up: over every month, the partners' lines (the program's own included) equal the
program's totals, refunds and expiry included; a closed month is never rewritten."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import case, func, select

from shared import purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Entry, Member
from shared.errors import Conflict
from shared.jobs import run_due
from shared.partners import AgreementFields, add_agreement, get_partner
from shared.reports import REPORTS, Period
from shared.settlement import FIGURES, Figures, Month, close_month, settlement
from tests.integration.partners.coalition import BANK, OWN, PHARMACY, Coalition

PHONE = "+79123456789"


def receipt(store: str, receipt_id: str, amount: int, redeem: int | str = 0) -> dict[str, Any]:
    line = {"sku": "1", "name": "Goods", "category": "food", "quantity": 1, "price": amount, "amount": amount}
    return {"store_id": store, "receipt_id": receipt_id, "member": {"phone": PHONE}, "lines": [line], "redeem": redeem}


async def _program_totals(core: Core, month: Month) -> Figures:
    """The program's own figures for the month, straight from the entries (no stores, no partners)."""
    zone = core.rules.zone
    sign = case((Entry.points > 0, 1), else_=-1)
    stmt = (
        select(Entry.kind, sign, func.sum(Entry.points))
        .where(Entry.created_at >= month.start(zone), Entry.created_at < month.end(zone))
        .group_by(Entry.kind, sign)
    )
    figures = Figures()
    async with core.reading() as session:
        for kind, s, points in (await session.execute(stmt)).all():
            name = {
                ("accrual", 1): "issued",
                ("redemption", -1): "spent",
                ("expiry", -1): "expired",
                ("refund", -1): "reversed",
                ("refund", 1): "restored",
            }.get((kind, s), "other")
            setattr(figures, name, getattr(figures, name) + abs(int(points)) * (1 if name != "other" else 0))
            if name == "other":
                figures.other += int(points)
    return figures


async def _activity(core: Core, clock: FixedClock, client: httpx.AsyncClient, coalition: Coalition) -> None:
    async with core.transaction() as session:
        bank = await get_partner(session, coalition.bank_id)
        await add_agreement(
            session, core.clock, bank, AgreementFields(50, 80, date(2026, 11, 1), None), core.rules.zone, actor="t"
        )
    assert (await client.post("/api/v1/members", json={"phone": PHONE})).status_code == 201
    for store, n in ((BANK, 1), (PHARMACY, 2), (OWN, 3)):
        r = await client.post("/api/v1/purchases", json=receipt(store, f"N{n}", 200_000 * n))
        assert r.status_code == 201, r.text
    clock.advance(hours=25)
    await run_due(core, clock)
    spent = await client.post("/api/v1/purchases", json=receipt(BANK, "N4", 500_000, redeem=200))
    assert spent.status_code == 201, spent.text
    half = await client.post(f"/api/v1/purchases/{BANK}/N4/refunds", json={"refund_id": "R1", "amount": 250_000})
    assert half.status_code == 201, half.text
    assert half.json()["points_restored"] == 100
    back = await client.post(f"/api/v1/purchases/{BANK}/N1/refunds", json={"refund_id": "R2", "amount": 100_000})
    assert back.status_code == 201, back.text


async def test_partner_lines_add_up_to_the_program_totals_across_refunds_and_expiry(
    core: Core, clock: FixedClock, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    await _activity(core, clock, client, coalition)
    clock.advance(days=200)  # every lot burns
    await run_due(core, clock)
    zone = core.rules.zone
    months = [Month(2026, 11)]
    while str(months[-1]) != str(Month.of(clock.now(), zone)):
        months.append(months[-1].next())
    net = 0
    kinds_seen = Figures()
    for month in months:
        async with core.reading() as session:
            result = await settlement(session, month, zone)
        assert result.totals == await _program_totals(core, month), month
        net += result.totals.net
        kinds_seen = kinds_seen + result.totals
    assert all(getattr(kinds_seen, n) > 0 for n in FIGURES if n != "other")  # refunds and expiry took place
    async with core.reading() as session:
        balances = (await session.execute(select(func.sum(Member.available + Member.pending)))).scalar_one()
    assert net == balances
    async with core.reading() as session:
        november = await settlement(session, Month(2026, 11), zone)
    bank = [line for line in november.lines if line.partner_id == coalition.bank_id]
    assert len(bank) == 1
    line = bank[0]
    assert line.figures.spent == 200
    assert line.figures.restored == 100
    assert line.partner_pays == (line.figures.issued - line.figures.reversed) * 50
    assert line.program_pays == 100 * 80
    pharmacy = [x for x in november.lines if x.partner_id == coalition.pharmacy_id]
    assert pharmacy[0].agreement_id is None
    assert pharmacy[0].partner_pays == pharmacy[0].program_pays == 0
    assert november.lines[0].partner_id is None  # the program's own line comes first
    assert november.lines[0].figures.other == 100  # the welcome bonus
    # the console's report over the same days reads the same figures
    async with core.reading() as session:
        shown = await REPORTS["partners"].compute(
            session, core.rules, Period(date(2026, 11, 1), date(2026, 11, 30), zone)
        )
    rows = {row[0]: row for row in shown.rows}
    assert rows["Bank"][1:] == [*(getattr(line.figures, n) for n in FIGURES), line.partner_pays, line.program_pays]
    assert sum(row[1] for row in shown.rows) == november.totals.issued


async def test_a_closed_month_is_not_rewritten_later_entries_land_in_the_next_open_one(
    core: Core, clock: FixedClock, client: httpx.AsyncClient, coalition: Coalition
) -> None:
    await _activity(core, clock, client, coalition)
    zone = core.rules.zone
    november = Month(2026, 11)
    with pytest.raises(Conflict, match="not ended"):  # still November
        async with core.transaction() as session:
            await close_month(session, core.clock, november, zone, actor="admin")
    clock.at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    async with core.transaction() as session:
        frozen = await close_month(session, core.clock, november, zone, actor="admin")
    # a refund in December of a November receipt: December's
    r = await client.post(f"/api/v1/purchases/{BANK}/N1/refunds", json={"refund_id": "R3", "amount": 50_000})
    assert r.status_code == 201, r.text
    # a write dated inside the closed November (a job run "as of" then): carried into December
    async with core.transaction() as session:
        await purchases.refund(
            session,
            FixedClock(datetime(2026, 11, 29, 12, tzinfo=UTC)),
            core.rules,
            PHARMACY,
            "N2",
            {"refund_id": "late", "amount": 400_000},
        )
    async with core.reading() as session:
        again = await settlement(session, november, zone)
        december = await settlement(session, Month(2026, 12), zone)
    assert again.lines == frozen.lines
    assert again.closed_at is not None
    carried = [line for line in december.lines if line.origin == "2026-11"]
    assert [(line.partner_id, line.figures.reversed > 0) for line in carried] == [(coalition.pharmacy_id, True)]
    own_bank = [line for line in december.lines if line.partner_id == coalition.bank_id and line.origin is None]
    assert own_bank[0].figures.reversed > 0
    # closing December freezes the carry with it; January carries nothing more from November
    clock.at = datetime(2027, 1, 3, 9, tzinfo=UTC)
    async with core.transaction() as session:
        closed_december = await close_month(session, core.clock, Month(2026, 12), zone, actor="admin")
    assert [line for line in closed_december.lines if line.origin == "2026-11"] == carried
    async with core.reading() as session:
        january = await settlement(session, Month(2027, 1), zone)
    assert not [line for line in january.lines if line.origin]
    # over November to January the lines still add up to the program's totals
    total = Figures()
    for result in (again, closed_december, january):
        total = total + result.totals
    program = Figures()
    for month in (november, Month(2026, 12), Month(2027, 1)):
        program = program + await _program_totals(core, month)
    assert total == program
    with pytest.raises(Conflict, match="closed already"):
        async with core.transaction() as session:
            await close_month(session, core.clock, november, zone, actor="admin")
