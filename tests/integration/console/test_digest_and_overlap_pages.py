"""The console's view of the monthly digest (beside the trigger chains) and the category-overlap
heat map with the RFM overview beside it, its segment filter and CSV, over HTTP with the real app."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from notifications.campaigns import run_digest
from shared.core import Core
from shared.db.models import Member
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff
from tests.integration.marketing.builders import member
from tests.integration.marketing.test_overlap_report import baskets

__all__ = ["console", "password_hash", "staff"]  # fixtures shared with the console route tests


async def test_the_digest_results_are_on_the_triggers_page(console: Console, core: Core) -> None:
    for n in (1, 2):
        member_id = await member(core, n, consents=("telegram",))
        async with core.transaction() as session:
            await session.execute(update(Member).where(Member.id == member_id).values(telegram_user_id=800 + n))
    await signed_in(console, "marketer")
    assert "No digest has gone out yet." in (await console.get("/console/chains/")).text
    await run_digest(core)
    page = (await console.get("/console/chains/")).text
    assert "Monthly digest" in page
    assert "<td>2026-11</td><td>2</td><td>telegram: 2</td>" in page
    assert "finished" in page


async def test_the_overlap_heat_map_with_rfm_beside_a_segment_filter_and_csv(console: Console, core: Core) -> None:
    await baskets(core)
    await signed_in(console, "analyst")
    since, until = date(2026, 11, 1), date(2026, 11, 30)
    page = await console.get(f"/console/reports/category_overlap?since={since}&until={until}")
    assert page.status_code == 200
    html = page.text
    assert 'class="heatmap"' in html
    assert '<th scope="row">cheese (3)</th>' in html
    assert 'class="heat heat-7" title="coffee → bakery: 2 / 3">67%</td>' in html
    assert 'class="heat heat-10" title="bakery → coffee: 2 / 2">100%</td>' in html
    assert "style=" not in html.split("<main", 1)[1]  # the CSP forbids inline style
    assert "RFM grid" in html
    assert 'href="/console/reports/rfm_grid?' in html
    csv = await console.get(f"/console/reports/category_overlap/csv?since={since}&until={until}")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "category_a,category_b,members_a,members_a_and_b,share"
    assert "coffee,bakery,3,2,0.6667" in lines
    missing = await console.get(f"/console/reports/category_overlap?since={since}&until={until}&segment=99")
    assert missing.status_code == 422
    assert "no such segment" in missing.text.lower()
    for hostile in (str(2**70), "-1", "0"):
        answer = await console.get(f"/console/reports/category_overlap/csv?segment={hostile}")
        assert answer.status_code in (400, 422), hostile
    bad = await console.get("/console/reports/category_overlap?segment=lots")
    assert bad.status_code == 400
