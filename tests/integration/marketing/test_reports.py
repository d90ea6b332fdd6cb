"""The promo-code/certificate report and the RFM grid on hand-computable data."""

from __future__ import annotations

from datetime import date, timedelta

from shared.core import Core
from shared.reports import REPORTS, Period
from tests.integration.core.helpers import confirm, new_member
from tests.integration.marketing.builders import bought, days_ago, member
from tests.integration.promotions.helpers import batch, certificate, line, promotion, receipt

WINE = line("w1", "wine", 150000)


def november(core: Core) -> Period:
    return Period(date(2026, 11, 1), date(2026, 11, 30), core.rules.zone)  # the test clock is 22 November


async def test_codes_redeemed_per_batch_and_certificates_issued_paid_outstanding(core: Core) -> None:
    for n in range(3):
        await new_member(core, phone=f"+7912345678{n}")
    ten = await promotion(core, name="TEN", kind="discount", amount=10000, code_only=True)
    unique = await batch(core, ten, kind="unique", count=4, prefix="NOV", name="November codes")
    autumn = await promotion(core, name="AUTUMN", kind="discount", amount=50000, code_only=True)
    await batch(core, autumn, kind="shared", code="AUTUMN", total_limit=10, name="Autumn seasonal")
    await confirm(core, receipt("P-1", [WINE], phone="+79123456780", promo_code=unique[0]))
    await confirm(core, receipt("P-2", [WINE], phone="+79123456781", promo_code=unique[1]))
    await confirm(core, receipt("P-3", [WINE], phone="+79123456782", promo_code="AUTUMN"))
    first = await certificate(core, 50000, count=2)
    await confirm(core, receipt("C-1", [line("c1", "food", 30000)], phone=None, certificates=[{"number": first}]))
    result = await _compute(core, "promo_codes")
    assert result.columns == ["item", "kind", "issued", "redeemed", "redemption_share", "amount_minor"]
    assert result.rows == [
        ["November codes", "unique", 4, 2, 0.5, 2 * 10000],
        ["Autumn seasonal", "shared", 10, 1, 0.1, 50000],
        ["gift certificates issued", "certificate", 2, None, None, 100000],
        ["certificate balance outstanding at the period end", "certificate", None, None, None, 70000],
        ["paid with certificates", "certificate", None, None, None, 30000],
    ]
    assert result.headline.startswith("3 code uses, 700.00 RUB discount; certificates: 2 issued, 300.00 RUB paid")
    assert result.chart.series == [("redeemed", [2.0, 1.0])]
    october = Period(date(2026, 10, 1), date(2026, 10, 31), core.rules.zone)
    async with core.reading() as session:
        before = await REPORTS["promo_codes"].compute(session, core.rules, october)
    assert before.rows[-3:] == [
        ["gift certificates issued", "certificate", 0, None, None, 0],
        ["certificate balance outstanding at the period end", "certificate", None, None, None, 0],
        ["paid with certificates", "certificate", None, None, None, 0],
    ]
    assert before.rows[:-3] == []  # the batches did not exist yet


async def _compute(core: Core, code: str):  # type: ignore[no-untyped-def]
    async with core.reading() as session:
        return await REPORTS[code].compute(session, core.rules, november(core))


async def test_rfm_grid_counts_members_per_cell_as_of_the_period_end(core: Core) -> None:
    # member k bought k times, the last time (6 - k) * 10 days ago: k = 5 is the most recent and most frequent
    for k in range(1, 6):
        who = await member(core, k)
        for visit in range(k):
            await bought(core, who, days_ago(core, (6 - k) * 10 + visit), 1000_00 * k)
    late = await member(core, 6)
    await bought(core, late, core.clock.now() + timedelta(days=10), 5000_00)  # after the period end: not counted
    old = await member(core, 7)
    await bought(core, old, days_ago(core, 400), 5000_00)  # outside the 365-day window
    result = await _compute(core, "rfm_grid")
    cells = {(r, f): (segment, n) for r, f, segment, n in result.rows}
    assert len(result.rows) == 25
    assert {key: value for key, value in cells.items() if value[1]} == {
        (5, 5): ("champions", 1),
        (4, 4): ("loyal_customers", 1),
        (3, 3): ("need_attention", 1),
        (2, 2): ("hibernating", 1),
        (1, 1): ("hibernating", 1),
    }
    assert result.headline == "5 members scored; largest segment: Hibernating (2)"
    series = dict(zip(result.chart.labels, result.chart.series[0][1], strict=True))
    assert series["Champions"] == 1
    assert series["Hibernating"] == 2
    assert series["At risk"] == 0
