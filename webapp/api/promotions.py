"""Promotions and their promo-code batches, for marketers (staff keys)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, Parameter
from msgspec import convert

from shared.core import Core
from shared.csv_export import csv_text
from shared.db.models import Segment
from shared.db.models.promotions import PromoCodeBatch
from shared.errors import FieldError, InvalidInput, NotFound
from shared.offers.personal import issue_offers, segment_audience
from shared.promotions import codes, definitions
from webapp.api.bodies import CHECK, raw_body
from webapp.api.docs import BATCH_BODY, OFFER_ISSUE_BODY, PROMOTION_BODY, PROMOTION_PATCH
from webapp.api.schemas import promotions as schemas
from webapp.api.schemas.problems import problem_responses
from webapp.deps import CoreDep

STAFF = {"scope": "staff"}
PROBLEMS = problem_responses(403, 404, 409, 422)


def check_promotion(raw: dict[str, Any], core: Core) -> None:
    definitions.read_fields(raw, core.rules, partial=False)


def check_promotion_change(raw: dict[str, Any], core: Core) -> None:
    definitions.read_fields(raw, core.rules, partial=True)


def check_batch(raw: dict[str, Any], _: Core) -> None:
    codes.read_batch(raw)


class PromotionController(Controller):
    """`data` is the body decoded and bounded by its Struct; the core reads the JSON as sent and words
    every field message (webapp.api.bodies)."""

    path = "/api/v1/promotions"
    tags = ("promotions",)

    @post(
        "/",
        status_code=201,
        opt=STAFF | {CHECK: check_promotion},
        summary="Create a promotion",
        description="kind: discount, bundle, accrual or personal; see docs/promotions.md and docs/offers.md.",
        operation_id="create_promotion",
        responses=PROBLEMS,
    )
    async def create(self, core: CoreDep, request: Request[Any, Any, Any], data: PROMOTION_BODY) -> schemas.Promotion:
        del data
        body = await raw_body(request)
        async with core.transaction() as session:
            promotion = await definitions.create_promotion(session, core.rules, body, core.clock.now())
            return convert(definitions.promotion_view(promotion), schemas.Promotion)

    @get(
        "/",
        opt=STAFF,
        summary="List promotions, highest priority first",
        operation_id="list_promotions",
        responses=PROBLEMS,
    )
    async def list(
        self, core: CoreDep, active: bool | None = Parameter(default=None, description="only active or only inactive")
    ) -> schemas.PromotionList:
        async with core.reading() as session:
            rows = await definitions.list_promotions(session, active)
            return convert({"items": [definitions.promotion_view(p) for p in rows]}, schemas.PromotionList)

    @get(
        "/{promotion_id:int}",
        opt=STAFF,
        summary="A promotion with its promo-code batches",
        operation_id="get_promotion",
        responses=PROBLEMS,
    )
    async def read(self, core: CoreDep, promotion_id: FromPath[int]) -> schemas.Promotion:
        async with core.reading() as session:
            view = definitions.promotion_view(await definitions.get_promotion(session, promotion_id))
            view["code_batches"] = await definitions.code_counts(session, promotion_id)
            return convert(view, schemas.Promotion)

    @patch(
        "/{promotion_id:int}",
        opt=STAFF | {CHECK: check_promotion_change},
        summary='Change a promotion (e.g. {"active": false} to stop it)',
        operation_id="change_promotion",
        responses=PROBLEMS,
    )
    async def change(
        self, core: CoreDep, request: Request[Any, Any, Any], promotion_id: FromPath[int], data: PROMOTION_PATCH
    ) -> schemas.Promotion:
        del data
        body = await raw_body(request)
        async with core.transaction() as session:
            promotion = await definitions.update_promotion(session, core.rules, promotion_id, body, core.clock.now())
            return convert(definitions.promotion_view(promotion), schemas.Promotion)

    @post(
        "/{promotion_id:int}/code-batches",
        status_code=201,
        opt=STAFF | {CHECK: check_batch},
        summary="Make promo codes for a promotion: a unique single-use batch or one shared code",
        operation_id="create_code_batch",
        responses=PROBLEMS,
    )
    async def create_batch(
        self, core: CoreDep, request: Request[Any, Any, Any], promotion_id: FromPath[int], data: BATCH_BODY
    ) -> schemas.CodeBatch:
        del data
        body = await raw_body(request)
        async with core.transaction() as session:
            batch = await codes.create_batch(session, promotion_id, body, core.clock.now())
            return convert(codes.batch_view(batch, 0), schemas.CodeBatch)

    @post(
        "/{promotion_id:int}/offers",
        status_code=201,
        opt=STAFF,
        summary="Issue a personal promotion's offers to a segment (idempotent per member)",
        description="Each member of the segment's snapshot gets their top recommended category (else SKU) "
        "with the promotion's boost for offer_days; members who have an offer under it are skipped.",
        operation_id="issue_personal_offers",
        responses=PROBLEMS,
    )
    async def issue(self, core: CoreDep, promotion_id: FromPath[int], data: OFFER_ISSUE_BODY) -> schemas.OffersIssued:
        async with core.transaction() as session:
            await definitions.get_promotion(session, promotion_id)
            if await session.get(Segment, data.segment_id) is None:
                raise InvalidInput("Unknown segment.", [FieldError("segment_id", f"no segment {data.segment_id}")])
            issued = await issue_offers(session, promotion_id, segment_audience(data.segment_id), core.clock.now())
        return schemas.OffersIssued(issued)


class CodeBatchController(Controller):
    path = "/api/v1/code-batches"
    tags = ("promotions",)

    @get(
        "/{batch_id:int}/codes.csv",
        opt=STAFF,
        summary="Export a batch's codes as CSV (code, uses, max_uses)",
        media_type="text/csv",
        operation_id="export_codes",
        responses=PROBLEMS,
    )
    async def export(self, core: CoreDep, batch_id: FromPath[int]) -> Response[str]:
        async with core.reading() as session:
            if await session.get(PromoCodeBatch, batch_id) is None:
                raise NotFound(f"No promo-code batch {batch_id}.")
            rows = await codes.batch_codes(session, batch_id)
        return Response(
            csv_text(["code", "uses", "max_uses"], rows, lineterminator="\n"),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="promo-codes-{batch_id}.csv"'},
        )
