"""Gift certificates and bonus grants through the API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath

from shared.db.models.promotions import BonusGrant
from shared.errors import NotFound
from shared.promotions import certificates, grants
from webapp.api.docs import CERTIFICATE_BODY, GRANT_BODY
from webapp.api.schemas.problems import problem_responses
from webapp.deps import CoreDep

STAFF = {"scope": "staff"}
PROBLEMS = problem_responses(403, 404, 409, 422)


class CertificateController(Controller):
    path = "/api/v1/certificates"
    tags = ("certificates",)

    @post(
        "/",
        status_code=201,
        opt=STAFF,
        summary="Issue gift certificates (numbered, with a balance)",
        responses=PROBLEMS,
    )
    async def issue(self, core: CoreDep, data: CERTIFICATE_BODY) -> dict[str, Any]:
        async with core.transaction() as session:
            issued = await certificates.issue(session, data, core.clock.now())
            return {"items": [await certificates.certificate_view(session, c, core.clock.now()) for c in issued]}

    @get(
        "/{number:str}", summary="Check a certificate: balance, whether it can pay, its operations", responses=PROBLEMS
    )
    async def check(self, core: CoreDep, number: FromPath[str]) -> dict[str, Any]:
        async with core.reading() as session:
            cert = await certificates.find_certificate(session, number)
            return await certificates.certificate_view(session, cert, core.clock.now())


class BonusGrantController(Controller):
    path = "/api/v1/bonus-grants"
    tags = ("bonus grants",)

    @post(
        "/",
        status_code=201,
        opt=STAFF,
        summary="Describe a bonus grant (a segment or a list of members)",
        responses=PROBLEMS,
    )
    async def create(self, core: CoreDep, data: GRANT_BODY) -> dict[str, Any]:
        async with core.transaction() as session:
            return grants.grant_view(await grants.create_grant(session, data, core.clock.now()))

    @post(
        "/{grant_id:int}/run",
        status_code=200,
        opt=STAFF,
        summary="Grant the points (idempotent and resumable: nobody gets them twice)",
        responses=PROBLEMS,
    )
    async def run(self, core: CoreDep, grant_id: FromPath[int]) -> dict[str, Any]:
        return await grants.run_grant(core, core.clock, core.rules, grant_id)

    @get("/{grant_id:int}", opt=STAFF, summary="A bonus grant and how far it got", responses=PROBLEMS)
    async def read(self, core: CoreDep, grant_id: FromPath[int]) -> dict[str, Any]:
        async with core.reading() as session:
            grant = await session.get(BonusGrant, grant_id)
            if grant is None:
                raise NotFound(f"No bonus grant {grant_id}.")
            return grants.grant_view(grant)
