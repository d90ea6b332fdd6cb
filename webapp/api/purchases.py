"""Purchase endpoints of API.md: calculate, confirm, refund."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, post
from litestar.params import FromPath

from shared import purchases
from shared.metrics import CONFIRMS, POINTS_ACCRUED, POINTS_SPENT, REFUNDS
from webapp.api.auth import DEFERRED
from webapp.api.docs import RECEIPT_BODY, REFUND_BODY
from webapp.deps import CoreDep


class PurchaseController(Controller):
    path = "/api/v1/purchases"
    tags = ("purchases",)

    @post("/calculate", status_code=200, opt=DEFERRED, summary="Price a receipt; changes nothing")
    async def calculate(self, core: CoreDep, data: RECEIPT_BODY) -> dict[str, Any]:
        async with core.reading() as session:
            return await purchases.calculate(session, core.clock, core.rules, data)

    @post(
        "/",
        status_code=201,
        opt=DEFERRED,
        summary="Confirm a receipt (idempotent by store_id + receipt_id)",
        description="201 first time; 200 with the original answer on a retry; 409 for a different body; "
        "422 with `max` when more points are asked than allowed.",
    )
    async def confirm(self, core: CoreDep, data: RECEIPT_BODY) -> Response[dict[str, Any]]:
        async with core.transaction() as session:
            answer, created = await purchases.confirm(session, core.clock, core.rules, data)
        if created:
            CONFIRMS.inc()
            POINTS_ACCRUED.inc(int(answer.get("accrue") or 0))
            POINTS_SPENT.inc(int((answer.get("redeem") or {}).get("applied") or 0))
        return Response(answer, status_code=201 if created else 200)

    @post(
        "/{store_id:str}/{receipt_id:str}/refunds",
        status_code=201,
        summary="Refund part or all of a receipt (idempotent by refund_id)",
    )
    async def refund(
        self, core: CoreDep, store_id: FromPath[str], receipt_id: FromPath[str], data: REFUND_BODY
    ) -> Response[dict[str, Any]]:
        async with core.transaction() as session:
            answer, created = await purchases.refund(session, core.clock, core.rules, store_id, receipt_id, data)
        if created:
            REFUNDS.inc()
        return Response(answer, status_code=201 if created else 200)
