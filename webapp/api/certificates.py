"""Gift certificates and bonus grants through the API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from msgspec import convert

from shared.core import Core
from shared.db.models.promotions import BonusGrant
from shared.errors import NotFound
from shared.promotions import certificates, grants
from webapp.api.bodies import CHECK, raw_body
from webapp.api.docs import CERTIFICATE_BODY, GRANT_BODY
from webapp.api.schemas import promotions as schemas
from webapp.api.schemas.problems import problem_responses
from webapp.deps import CoreDep

STAFF = {"scope": "staff"}
PROBLEMS = problem_responses(403, 404, 409, 422)


def check_issue(raw: dict[str, Any], _: Core) -> None:
    certificates.read_issue(raw)


def check_grant(raw: dict[str, Any], core: Core) -> None:
    problems, _ = grants.grant_problems(raw, core.clock.now())
    problems.raise_if_any(grants.INVALID)


class CertificateController(Controller):
    path = "/api/v1/certificates"
    tags = ("certificates",)

    @post(
        "/",
        status_code=201,
        opt=STAFF | {CHECK: check_issue},
        summary="Issue gift certificates (numbered, with a balance)",
        operation_id="issue_certificates",
        responses=PROBLEMS,
    )
    async def issue(
        self, core: CoreDep, request: Request[Any, Any, Any], data: CERTIFICATE_BODY
    ) -> schemas.CertificateList:
        del data  # the core reads the JSON as sent (webapp.api.bodies)
        body = await raw_body(request)
        async with core.transaction() as session:
            issued = await certificates.issue(session, body, core.clock.now())
            views = [await certificates.certificate_view(session, c, core.clock.now()) for c in issued]
            return convert({"items": views}, schemas.CertificateList)

    @get(
        "/{number:str}",
        summary="Check a certificate: balance, whether it can pay, its operations",
        operation_id="check_certificate",
        responses=PROBLEMS,
    )
    async def check(self, core: CoreDep, number: FromPath[str]) -> schemas.Certificate:
        async with core.reading() as session:
            cert = await certificates.find_certificate(session, number)
            return convert(await certificates.certificate_view(session, cert, core.clock.now()), schemas.Certificate)


class BonusGrantController(Controller):
    path = "/api/v1/bonus-grants"
    tags = ("bonus grants",)

    @post(
        "/",
        status_code=201,
        opt=STAFF | {CHECK: check_grant},
        summary="Describe a bonus grant (a segment or a list of members)",
        operation_id="create_bonus_grant",
        responses=PROBLEMS,
    )
    async def create(self, core: CoreDep, request: Request[Any, Any, Any], data: GRANT_BODY) -> schemas.Grant:
        del data  # the core reads the JSON as sent (webapp.api.bodies)
        body = await raw_body(request)
        async with core.transaction() as session:
            return convert(grants.grant_view(await grants.create_grant(session, body, core.clock.now())), schemas.Grant)

    @post(
        "/{grant_id:int}/run",
        status_code=200,
        opt=STAFF,
        summary="Grant the points (idempotent and resumable: nobody gets them twice)",
        operation_id="run_bonus_grant",
        responses=PROBLEMS,
    )
    async def run(self, core: CoreDep, grant_id: FromPath[int]) -> schemas.Grant:
        return convert(await grants.run_grant(core, core.clock, core.rules, grant_id), schemas.Grant)

    @get(
        "/{grant_id:int}",
        opt=STAFF,
        summary="A bonus grant and how far it got",
        operation_id="get_bonus_grant",
        responses=PROBLEMS,
    )
    async def read(self, core: CoreDep, grant_id: FromPath[int]) -> schemas.Grant:
        async with core.reading() as session:
            grant = await session.get(BonusGrant, grant_id)
            if grant is None:
                raise NotFound(f"No bonus grant {grant_id}.")
            return convert(grants.grant_view(grant), schemas.Grant)
