"""Purchase endpoints of API.md: calculate, confirm, refund."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromPath
from msgspec import convert

from shared import purchases
from shared.core import Core
from shared.metrics import CONFIRMS, POINTS_ACCRUED, POINTS_SPENT, REFUNDS
from shared.receipts import parse_receipt, parse_refund
from webapp.api import schemas
from webapp.api.auth import DEFERRED, check_store
from webapp.api.bodies import CHECK, raw_body
from webapp.api.docs import RECEIPT_BODY, REFUND_BODY
from webapp.api.schemas.problems import also_200, problem_responses
from webapp.deps import CoreDep


def check_receipt(raw: dict[str, Any], core: Core) -> None:
    parse_receipt(raw, core.clock.now())


def check_refund(raw: dict[str, Any], _: Core) -> None:
    parse_refund(raw)


class PurchaseController(Controller):
    """Each handler's `data` is the body decoded and bounded by its Struct; the core reads the JSON as
    sent (its hash makes a retry idempotent): see webapp.api.bodies."""

    path = "/api/v1/purchases"
    tags = ("purchases",)

    @post(
        "/calculate",
        status_code=200,
        summary="Price a receipt; changes nothing",
        opt={CHECK: check_receipt, **DEFERRED},
        operation_id="calculate_receipt",
        responses=problem_responses(403, 404, 422),
    )
    async def calculate(
        self, core: CoreDep, request: Request[Any, Any, Any], data: RECEIPT_BODY
    ) -> schemas.Calculation:
        await check_store(request, data.store_id)
        body = await raw_body(request)
        async with core.reading() as session:
            return convert(await purchases.calculate(session, core.clock, core.rules, body), schemas.Calculation)

    @post(
        "/",
        status_code=201,
        summary="Confirm a receipt (idempotent by store_id + receipt_id)",
        description="201 first time; 200 with the original answer on a retry; 409 for a different body; "
        "422 with `max` when more points are asked than allowed.",
        opt={CHECK: check_receipt, **DEFERRED},
        operation_id="confirm_receipt",
        responses=also_200(schemas.Confirmation, "A retry: the original answer")
        | problem_responses(403, 404, 409, 422),
    )
    async def confirm(
        self, core: CoreDep, request: Request[Any, Any, Any], data: RECEIPT_BODY
    ) -> Response[schemas.Confirmation]:
        await check_store(request, data.store_id)
        body = await raw_body(request)
        async with core.transaction() as session:
            answer, created = await purchases.confirm(session, core.clock, core.rules, body)
        if created:
            CONFIRMS.inc()
            POINTS_ACCRUED.inc(int(answer.get("accrue") or 0))
            POINTS_SPENT.inc(int((answer.get("redeem") or {}).get("applied") or 0))
        return Response(convert(answer, schemas.Confirmation), status_code=201 if created else 200)

    @post(
        "/{store_id:str}/{receipt_id:str}/refunds",
        status_code=201,
        summary="Refund part or all of a receipt (idempotent by refund_id)",
        description="201 first time; 200 with the original answer on a retry; 409 for a different body "
        "under the same refund_id; 422 when more is refunded than was bought.",
        opt={CHECK: check_refund},
        operation_id="refund_receipt",
        responses=also_200(schemas.RefundResult, "A retry: the original answer")
        | problem_responses(403, 404, 409, 422),
    )
    async def refund(
        self,
        core: CoreDep,
        request: Request[Any, Any, Any],
        store_id: FromPath[str],
        receipt_id: FromPath[str],
        data: REFUND_BODY,
    ) -> Response[schemas.RefundResult]:
        del data
        await check_store(request, store_id)
        body = await raw_body(request)
        async with core.transaction() as session:
            answer, created = await purchases.refund(session, core.clock, core.rules, store_id, receipt_id, body)
        if created:
            REFUNDS.inc()
        return Response(convert(answer, schemas.RefundResult), status_code=201 if created else 200)
