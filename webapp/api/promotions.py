"""Promotions and their promo-code batches, for marketers (staff keys)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, Parameter

from shared.csv_export import csv_text
from shared.db.models.promotions import PromoCodeBatch
from shared.errors import NotFound
from shared.promotions import codes, definitions
from webapp.api.docs import BATCH_BODY, PROMOTION_BODY, PROMOTION_PATCH
from webapp.api.schemas.problems import problem_responses
from webapp.deps import CoreDep

STAFF = {"scope": "staff"}
PROBLEMS = problem_responses(403, 404, 409, 422)


class PromotionController(Controller):
    path = "/api/v1/promotions"
    tags = ("promotions",)

    @post(
        "/",
        status_code=201,
        opt=STAFF,
        summary="Create a promotion",
        description="kind: discount, bundle or accrual; see docs/promotions.md for every field.",
        responses=PROBLEMS,
    )
    async def create(self, core: CoreDep, data: PROMOTION_BODY) -> dict[str, Any]:
        async with core.transaction() as session:
            promotion = await definitions.create_promotion(session, core.rules, data, core.clock.now())
            return definitions.promotion_view(promotion)

    @get("/", opt=STAFF, summary="List promotions, highest priority first", responses=PROBLEMS)
    async def list(
        self, core: CoreDep, active: bool | None = Parameter(default=None, description="only active or only inactive")
    ) -> dict[str, Any]:
        async with core.reading() as session:
            rows = await definitions.list_promotions(session, active)
            return {"items": [definitions.promotion_view(p) for p in rows]}

    @get("/{promotion_id:int}", opt=STAFF, summary="A promotion with its promo-code batches", responses=PROBLEMS)
    async def read(self, core: CoreDep, promotion_id: FromPath[int]) -> dict[str, Any]:
        async with core.reading() as session:
            view = definitions.promotion_view(await definitions.get_promotion(session, promotion_id))
            view["code_batches"] = await definitions.code_counts(session, promotion_id)
            return view

    @patch(
        "/{promotion_id:int}",
        opt=STAFF,
        summary='Change a promotion (e.g. {"active": false} to stop it)',
        responses=PROBLEMS,
    )
    async def change(self, core: CoreDep, promotion_id: FromPath[int], data: PROMOTION_PATCH) -> dict[str, Any]:
        async with core.transaction() as session:
            promotion = await definitions.update_promotion(session, core.rules, promotion_id, data, core.clock.now())
            return definitions.promotion_view(promotion)

    @post(
        "/{promotion_id:int}/code-batches",
        status_code=201,
        opt=STAFF,
        summary="Make promo codes for a promotion: a unique single-use batch or one shared code",
        responses=PROBLEMS,
    )
    async def create_batch(self, core: CoreDep, promotion_id: FromPath[int], data: BATCH_BODY) -> dict[str, Any]:
        async with core.transaction() as session:
            batch = await codes.create_batch(session, promotion_id, data, core.clock.now())
            return codes.batch_view(batch, 0)


class CodeBatchController(Controller):
    path = "/api/v1/code-batches"
    tags = ("promotions",)

    @get(
        "/{batch_id:int}/codes.csv",
        opt=STAFF,
        summary="Export a batch's codes as CSV (code, uses, max_uses)",
        media_type="text/csv",
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
