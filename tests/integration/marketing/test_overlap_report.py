"""The category-overlap report on a basket set small enough to count by hand, through the till.

Members and the categories they bought in November:
  m1: coffee+bakery, wine        m2: coffee, cheese+wine        m3: coffee+bakery+cheese
  m4: wine+cheese                m5: tea
plus an anonymous coffee+wine receipt and m6's coffee+wine receipt in October (both not counted).
Buyers: cheese {2,3,4}, coffee {1,2,3}, wine {1,2,4}, bakery {1,3}, tea {5}.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Segment, SegmentMember
from shared.errors import InvalidInput
from shared.reports import REPORTS, Period, ReportOptions, compute_report
from tests.integration.core.helpers import confirm, new_member
from tests.integration.promotions.helpers import line, receipt

BASKETS = {
    1: [["coffee", "bakery"], ["wine"]],
    2: [["coffee"], ["cheese", "wine"]],
    3: [["coffee", "bakery", "cheese"]],
    4: [["wine", "cheese"]],
    5: [["tea"]],
}


def phone(n: int) -> str:
    return f"+7912000000{n}"


async def baskets(core: Core) -> dict[int, object]:
    ids = {}
    for n, receipts in BASKETS.items():
        ids[n] = (await new_member(core, phone=phone(n))).id
        for k, categories in enumerate(receipts):
            lines = [line(f"{c}-{n}-{k}", c, 10000) for c in categories]
            await confirm(core, receipt(f"R{n}-{k}", lines, phone=phone(n)))
    await confirm(core, receipt("ANON", [line("c", "coffee", 10000), line("w", "wine", 10000)], phone=None))
    await new_member(core, phone=phone(6))
    october = FixedClock(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    old = receipt("OLD", [line("c", "coffee", 10000), line("w", "wine", 10000)], phone=phone(6))
    await confirm(core, old, october)
    return ids


def november(core: Core) -> Period:
    return Period(date(2026, 11, 1), date(2026, 11, 30), core.rules.zone)  # the test clock is 22 November


async def overlap(core: Core, **options: object) -> dict[tuple[str, str], float | None]:
    async with core.reading() as session:
        result = await compute_report(
            REPORTS["category_overlap"],
            session,
            core.rules,
            november(core),
            ReportOptions(**options),  # type: ignore[arg-type]
        )
    assert result.matrix is not None
    m = result.matrix
    return {(a, b): m.shares[i][j] for i, a in enumerate(m.labels) for j, b in enumerate(m.labels)}


async def test_the_share_of_a_buyers_who_also_buy_b(core: Core) -> None:
    await baskets(core)
    async with core.reading() as session:
        result = await compute_report(
            REPORTS["category_overlap"], session, core.rules, november(core), ReportOptions(top_categories=4)
        )
    matrix = result.matrix
    assert matrix is not None
    assert matrix.labels == ["cheese", "coffee", "wine", "bakery"]  # most buyers first, ties by name; tea cut
    assert matrix.totals == [3, 3, 3, 2]
    shares = {(a, b): matrix.shares[i][j] for i, a in enumerate(matrix.labels) for j, b in enumerate(matrix.labels)}
    assert shares[("coffee", "bakery")] == pytest.approx(2 / 3)
    assert shares[("bakery", "coffee")] == 1.0
    assert shares[("coffee", "wine")] == pytest.approx(2 / 3)  # m1 bought them on different days: still both
    assert shares[("wine", "cheese")] == pytest.approx(2 / 3)
    assert shares[("cheese", "bakery")] == pytest.approx(1 / 3)
    assert shares[("bakery", "wine")] == 0.5
    assert shares[("wine", "bakery")] == pytest.approx(1 / 3)
    assert all(shares[(c, c)] == 1.0 for c in matrix.labels)
    assert ["coffee", "bakery", 3, 2, 0.6667] in result.rows  # the CSV's rows
    assert result.columns == ["category_a", "category_b", "members_a", "members_a_and_b", "share"]
    assert result.headline.startswith("4 categories; strongest: of 2 buying bakery, 100.0% also buy coffee")


async def test_a_segment_limits_the_members(core: Core) -> None:
    ids = await baskets(core)
    now = core.clock.now()
    async with core.transaction() as session:
        session.add(Segment(id=1, name="m1 and m3", definition={}, member_count=2, created_at=now, updated_at=now))
        session.add_all(SegmentMember(segment_id=1, member_id=ids[n]) for n in (1, 3))
    shares = await overlap(core, segment_id=1, top_categories=10)
    assert sorted({a for a, _ in shares}) == ["bakery", "cheese", "coffee", "wine"]
    assert shares[("coffee", "bakery")] == 1.0
    assert shares[("wine", "coffee")] == 1.0
    assert shares[("cheese", "wine")] == 0.0
    with pytest.raises(InvalidInput):
        await overlap(core, segment_id=99)


async def test_no_purchases_no_matrix_rows(core: Core) -> None:
    shares = await overlap(core)
    assert shares == {}
