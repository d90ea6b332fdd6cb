"""Coalition partners through /api/v1 (staff keys only): the same services as the console's pages."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter, QueryParameter

from shared.core import Core
from shared.db.models.partners import Partner, PartnerAgreement
from shared.partners import (
    add_agreement,
    assign_store,
    create_partner_key,
    get_partner,
    list_partners,
    parse_agreement,
    parse_partner,
    save_partner,
)
from shared.settlement import FORMULA, Month, settlement
from webapp.api.bodies import CHECK
from webapp.api.schemas.partners import (
    AgreementIn,
    AgreementOut,
    AssignedStore,
    KeyIn,
    PartnerIn,
    PartnerKey,
    PartnerOut,
    PartnerPage,
    SettlementLineOut,
    SettlementOut,
    StoreAssignment,
)
from webapp.api.schemas.problems import problem_responses
from webapp.api.webhooks import STAFF
from webapp.deps import CoreDep

ACTOR = "api:staff-key"
PARTNER_ID = Parameter(ge=1, le=2**63 - 1)


def check_partner(raw: dict[str, Any], core: Core) -> None:
    """The console's check, so a body its Struct refuses names the same fields the same way (422)."""
    del core
    parse_partner(raw)


def check_agreement(raw: dict[str, Any], core: Core) -> None:
    del core
    parse_agreement(raw)


def partner_view(partner: Partner) -> PartnerOut:
    return PartnerOut(partner.id, partner.code, partner.name, partner.active)


class PartnerController(Controller):
    path = "/api/v1/partners"
    tags = ("partners",)
    opt = STAFF

    @post(
        "/",
        status_code=201,
        summary="Create a partner",
        opt={CHECK: check_partner},
        operation_id="create_partner",
        responses=problem_responses(403, 409, 422),
    )
    async def create(self, core: CoreDep, data: JSONBody[PartnerIn]) -> PartnerOut:
        fields = parse_partner({"code": data.code, "name": data.name})
        async with core.transaction() as session:
            return partner_view(await save_partner(session, core.clock, fields, actor=ACTOR))

    @get("/", summary="Partners by code", operation_id="list_partners", responses=problem_responses(403, 422))
    async def index(
        self,
        core: CoreDep,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> PartnerPage:
        async with core.reading() as session:
            rows, total = await list_partners(session, limit=limit, offset=offset)
            return PartnerPage([partner_view(p) for p in rows], total, limit, offset)

    @post(
        "/{partner_id:int}/agreements",
        status_code=201,
        summary="Add an agreement (dates must not overlap the partner's others)",
        opt={CHECK: check_agreement},
        operation_id="add_partner_agreement",
        responses=problem_responses(403, 404, 409, 422),
    )
    async def agreement(self, core: CoreDep, data: JSONBody[AgreementIn], partner_id: int = PARTNER_ID) -> AgreementOut:
        fields = parse_agreement(
            {
                "issue_price": data.issue_price,
                "redeem_price": data.redeem_price,
                "valid_from": data.valid_from,
                "valid_to": data.valid_to,
                "earn_percent": data.earn_percent,
            }
        )
        async with core.transaction() as session:
            partner = await get_partner(session, partner_id)
            made = await add_agreement(session, core.clock, partner, fields, core.rules.zone, actor=ACTOR)
            return _agreement_view(made, fields.valid_from.isoformat(), fields.valid_to)

    @post(
        "/{partner_id:int}/stores",
        status_code=200,
        summary="Make a store the partner's",
        operation_id="assign_partner_store",
        responses=problem_responses(403, 404, 422),
    )
    async def store(
        self, core: CoreDep, data: JSONBody[StoreAssignment], partner_id: int = PARTNER_ID
    ) -> AssignedStore:
        async with core.transaction() as session:
            partner = await get_partner(session, partner_id)
            await assign_store(session, core.clock, data.store_id, partner, actor=ACTOR)
        core.store_partners.forget(data.store_id)
        return AssignedStore(data.store_id, partner_id)

    @post(
        "/{partner_id:int}/keys",
        status_code=201,
        summary="Issue a till key of the partner (returned once)",
        description="The key prices, confirms and refunds receipts at this partner's stores only.",
        operation_id="create_partner_key",
        responses=problem_responses(403, 404, 409, 422),
    )
    async def key(self, core: CoreDep, data: JSONBody[KeyIn], partner_id: int = PARTNER_ID) -> PartnerKey:
        async with core.transaction() as session:
            partner = await get_partner(session, partner_id)
            key = await create_partner_key(session, core.clock, partner, data.name, actor=ACTOR)
        return PartnerKey(data.name.strip(), key)

    @get(
        "/{partner_id:int}/settlements",
        summary="The partner's settlement for a month",
        description="Lines by agreement (and lines carried from a closed month); money in kopecks.",
        operation_id="get_partner_settlement",
        responses=problem_responses(403, 404, 422),
    )
    async def settlement(
        self,
        core: CoreDep,
        partner_id: int = PARTNER_ID,
        period: Annotated[str, QueryParameter(min_length=7, max_length=7, description="YYYY-MM; default: now")] = "",
    ) -> SettlementOut:
        month = Month.parse(period) if period else Month.of(core.clock.now(), core.rules.zone)
        async with core.reading() as session:
            await get_partner(session, partner_id)
            result = (await settlement(session, month, core.rules.zone)).of_partner(partner_id)
        lines = [
            SettlementLineOut(
                line.origin,
                line.figures.issued,
                line.figures.spent,
                line.figures.expired,
                line.figures.reversed,
                line.figures.restored,
                line.issue_price,
                line.redeem_price,
                line.partner_pays,
                line.program_pays,
                line.formula,
            )
            for line in result.lines
        ]
        return SettlementOut(
            partner_id,
            str(month),
            result.closed_at.isoformat() if result.closed_at else None,
            lines,
            sum(x.partner_pays for x in lines),
            sum(x.program_pays for x in lines),
            FORMULA,
        )


def _agreement_view(agreement: PartnerAgreement, first: str, last: Any) -> AgreementOut:
    return AgreementOut(
        agreement.id,
        agreement.issue_price,
        agreement.redeem_price,
        agreement.earn_percent,
        first,
        last.isoformat() if last is not None else None,
    )
