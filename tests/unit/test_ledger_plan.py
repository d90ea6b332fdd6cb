"""The ledger's planning rules (shared.ledger_plan), which the ORM ledger and the till's hot path
both apply: draws never overdraw and go soonest-expiring first, new points repay debt first, and a
refund takes from its own lot before any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import NotEnoughPoints
from shared.ledger_plan import (
    AVAILABLE,
    PENDING,
    REVERSED,
    SPENT,
    draw,
    own_lot_take,
    plan_accrual,
    plan_spend,
    repay,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
lots_strategy = st.lists(st.integers(0, 500), max_size=8).map(
    lambda sizes: [(size, T0 + timedelta(days=i)) for i, size in enumerate(sizes)]
)


@given(lots=lots_strategy, points=st.integers(0, 3000))
def test_a_draw_takes_soonest_first_and_never_more_than_the_lots_hold(lots: list, points: int) -> None:
    drawing = draw(lots, points)
    taken = sum(d.take for d in drawing.draws)
    assert taken + drawing.short == points
    assert drawing.short == max(0, points - sum(size for size, _ in lots))
    for d in drawing.draws:
        size = lots[d.index][0]
        assert 0 < d.take <= size
        assert d.remaining == size - d.take
        assert d.status == (SPENT if d.remaining == 0 else AVAILABLE)
    # every lot before the last one drawn was emptied (or was empty)
    if drawing.draws:
        last = drawing.draws[-1].index
        emptied = {d.index for d in drawing.draws if d.remaining == 0}
        assert all(lots[i][0] == 0 or i in emptied for i in range(last))
        assert drawing.latest == lots[last][1]
    else:
        assert drawing.latest is None


def test_a_spend_is_refused_beyond_the_balance_and_beyond_the_lots() -> None:
    lots = [(50, T0), (50, T0 + timedelta(days=1))]
    with pytest.raises(NotEnoughPoints, match="Only 80"):
        plan_spend(80, lots, 81)
    with pytest.raises(NotEnoughPoints, match="recomputed"):
        plan_spend(200, lots, 150)
    drawing = plan_spend(100, lots, 70)
    assert [(d.index, d.take, d.status) for d in drawing.draws] == [(0, 50, SPENT), (1, 20, AVAILABLE)]


@given(points=st.integers(1, 1000), debt=st.integers(0, 1500), available=st.booleans())
def test_new_points_repay_debt_first_when_available(points: int, debt: int, available: bool) -> None:
    accrual = plan_accrual(points, debt, available=available)
    if not available:
        assert (accrual.status, accrual.remaining, accrual.to_pending, accrual.repaid) == (PENDING, points, points, 0)
        return
    assert accrual.repaid == min(points, debt)
    assert accrual.remaining == points - accrual.repaid
    assert accrual.to_available == points
    assert accrual.to_pending == 0
    assert accrual.status == (SPENT if accrual.remaining == 0 else AVAILABLE)
    assert repay(debt, points).remaining == accrual.remaining


def test_a_refund_takes_from_its_own_pending_or_available_lot_only() -> None:
    assert own_lot_take(30, 100, PENDING) == (30, PENDING)
    assert own_lot_take(130, 100, AVAILABLE) == (100, REVERSED)
    assert own_lot_take(30, 100, SPENT) == (0, SPENT)
    assert own_lot_take(30, 0, AVAILABLE) == (0, AVAILABLE)
