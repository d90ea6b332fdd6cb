"""CSV exports (console reports, the promo-code export of the API) never hand a spreadsheet a formula."""

from __future__ import annotations

import csv
import io

import httpx

from shared.core import Core
from tests.integration.console.test_console_routes import (  # noqa: F401 - fixtures
    Console,
    console,
    password_hash,
    signed_in,
    staff,
)
from tests.integration.promotions.helpers import batch, promotion

EVIL = "=cmd|' /C calc'!A0"


async def test_a_batch_named_as_a_formula_is_exported_as_text_in_the_report(core: Core, console: Console) -> None:  # noqa: F811
    pid = await promotion(core, name="Autumn", kind="discount", amount=30000, code_only=True)
    await batch(core, pid, kind="unique", count=3, prefix="W-", name=EVIL)
    await batch(core, pid, kind="shared", code="AUTUMN", total_limit=100, name="-2+3")
    await signed_in(console, "analyst")
    r = await console.get("/console/reports/promo_codes/csv?since=2026-11-01&until=2026-11-30")
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    names = [row[0] for row in rows[1:]]
    assert "'" + EVIL in names
    assert "'-2+3" in names
    assert EVIL not in names
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


async def test_promo_codes_starting_with_a_minus_are_exported_as_text(core: Core, client: httpx.AsyncClient) -> None:
    pid = await promotion(core, name="Minus", kind="discount", amount=30000, code_only=True)
    await batch(core, pid, kind="shared", code="-SALE", total_limit=5)
    async with core.reading() as session:
        from sqlalchemy import select

        from shared.db.models.promotions import PromoCodeBatch

        batch_id = (await session.execute(select(PromoCodeBatch.id))).scalar_one()
    r = await client.get(f"/api/v1/code-batches/{batch_id}/codes.csv")
    assert r.status_code == 200
    assert list(csv.reader(io.StringIO(r.text))) == [["code", "uses", "max_uses"], ["'-SALE", "0", "5"]]
