"""Members endpoints of API.md."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from msgspec import convert
from sqlalchemy import select

from shared.balance import balance_view
from shared.core import Core
from shared.db.models import Entry, Member, Purchase
from shared.errors import FieldError, FieldErrors, InvalidInput, NotFound
from shared.inputs import id_from_digits
from shared.members import Registration, get_member, register, resolve_member, validate_registration
from shared.offers.personal import offer_text, offers_of
from shared.phones import normalize_phone
from shared.provenance import with_place
from webapp.api import schemas
from webapp.api.bodies import CHECK, raw_body
from webapp.api.docs import MEMBER_BODY
from webapp.api.schemas.problems import also_200, problem_responses
from webapp.api.views import member_view
from webapp.deps import CoreDep


def registration_from(body: Any) -> Registration:
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    problems = FieldErrors()
    strings = {}
    for key in ("phone", "first_name", "last_name", "email", "channel", "store_id", "source", "time_zone", "language"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            problems.add(key, "must be a string")
            value = None
        strings[key] = value
    if not strings["phone"]:
        problems.add("phone", "is required")
    birth = None
    if body.get("birth_date") is not None:
        try:
            birth = date.fromisoformat(str(body["birth_date"]))
        except ValueError:
            problems.add("birth_date", "must be a date as YYYY-MM-DD")
    consents = body.get("consents") or {}
    if not isinstance(consents, dict) or not all(isinstance(v, bool) for v in consents.values()):
        problems.add("consents", 'must be an object of channel -> true/false, e.g. {"sms": true}')
        consents = {}
    problems.raise_if_any("The member could not be registered.")
    return Registration(
        phone=strings["phone"] or "",
        first_name=strings["first_name"],
        last_name=strings["last_name"],
        email=strings["email"],
        birth_date=birth,
        source=strings["channel"] or "api",  # the API's word for the registration source
        store_id=strings["store_id"],
        referral=strings["source"],
        time_zone=strings["time_zone"],
        language=strings["language"],
        consents=consents,
    )


def check_registration(raw: dict[str, Any], core: Core) -> None:
    """The core's checks of a registration, all fields at once (see webapp.api.bodies)."""
    today = core.clock.now().astimezone(core.rules.zone).date()
    validate_registration(registration_from(raw), core.rules, today)


def _member_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise NotFound(f"No member with id {raw!r}.") from exc


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ("members",)

    @post(
        "/",
        status_code=201,
        summary="Register a member (or find the one with this phone)",
        description="201 with a new Member; 200 with the existing Member when the phone is registered.",
        opt={CHECK: check_registration},
        operation_id="register_member",
        responses=also_200(schemas.Member, "The phone is registered already: that member") | problem_responses(422),
    )
    async def create(
        self, core: CoreDep, request: Request[Any, Any, Any], data: MEMBER_BODY
    ) -> Response[schemas.Member]:
        del data  # decoded and bounded by its Struct; the core reads the JSON as sent (see webapp.api.bodies)
        async with core.transaction() as session:
            reg = registration_from(await raw_body(request))
            member, created = await register(session, core.clock, core.rules, reg)
            view = await member_view(core, session, member)
        return Response(view, status_code=201 if created else 200)

    @get(
        "/",
        summary="Find a member by phone or card",
        operation_id="find_member",
        responses=problem_responses(404, 422),
    )
    async def find(
        self,
        core: CoreDep,
        phone: str | None = Parameter(default=None, description="any usual form, e.g. 89123456789"),
        card: str | None = Parameter(default=None, description="EAN-13 card number"),
    ) -> schemas.Member:
        if bool(phone) == bool(card):
            raise InvalidInput("Give exactly one of ?phone= or ?card=.", [FieldError("phone", "or card")])
        async with core.reading() as session:
            ref = {"phone": normalize_phone(phone, core.rules.phone_region)} if phone else {"card_number": card}
            member = await resolve_member(session, core.rules, ref)
            return await member_view(core, session, member)

    @get("/{member_id:str}", summary="A member", operation_id="get_member", responses=problem_responses(404))
    async def read(self, core: CoreDep, member_id: FromPath[str]) -> schemas.Member:
        async with core.reading() as session:
            member = await get_member(session, _member_id(member_id))
            return await member_view(core, session, member)

    @get(
        "/{member_id:str}/balance",
        summary="A member's balance",
        operation_id="get_balance",
        responses=problem_responses(404),
    )
    async def balance(self, core: CoreDep, member_id: FromPath[str]) -> schemas.Balance:
        async with core.reading() as session:
            member = await get_member(session, _member_id(member_id))
            return convert(await balance_view(session, core.rules, member, core.clock.now()), schemas.Balance)

    @get(
        "/{member_id:str}/offers",
        summary="A member's current personal offers (to print on the receipt)",
        description="Offers valid now under active personal promotions, soonest ending first; "
        "`text` is a line in the program's language.",
        operation_id="list_member_offers",
        responses=problem_responses(404),
    )
    async def offers(self, core: CoreDep, member_id: FromPath[str]) -> schemas.PersonalOffers:
        now = core.clock.now()
        async with core.reading() as session:
            member = await get_member(session, _member_id(member_id))
            found = await offers_of(session, member.id, now)
        language = core.rules.language
        return schemas.PersonalOffers(
            items=[
                schemas.PersonalOffer(
                    id=o.id,
                    promotion_id=o.promotion_id,
                    promotion=o.promotion,
                    kind=o.kind,  # type: ignore[arg-type]
                    item=o.item,
                    multiplier=o.multiplier,
                    extra_percent=o.extra_percent,
                    valid_from=o.valid_from.isoformat(),
                    valid_to=o.valid_to.isoformat(),
                    redeemed=o.redeemed_at is not None,
                    text=offer_text(o, core.rules, language),
                )
                for o in found
            ]
        )

    @get(
        "/{member_id:str}/transactions",
        summary="A member's ledger, newest first",
        operation_id="list_transactions",
        responses=problem_responses(404, 422),
    )
    async def transactions(
        self,
        core: CoreDep,
        member_id: FromPath[str],
        limit: int = Parameter(default=50, ge=1, le=100),
        cursor: str | None = Parameter(default=None, description="next_cursor of the previous page"),
    ) -> schemas.TransactionPage:
        before = None
        if cursor is not None:
            before = id_from_digits(cursor)
            if before is None:
                raise InvalidInput("The cursor is not one this API gave.", [FieldError("cursor", "invalid")])
        async with core.reading() as session:
            member = await get_member(session, _member_id(member_id))
            return convert(await transactions_page(session, member, limit, before), schemas.TransactionPage)


async def transactions_page(session: Any, member: Member, limit: int, before: int | None) -> dict[str, Any]:
    stmt = (
        with_place(select(Entry, Purchase.receipt_id))
        .where(Entry.member_id == member.id)
        .order_by(Entry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.where(Entry.id < before)
    rows = (await session.execute(stmt)).all()
    items = [
        {
            "id": str(entry.id),
            "kind": entry.kind,
            "points": entry.points,
            "created_at": entry.created_at.isoformat(),
            "available_at": entry.available_at.isoformat() if entry.available_at else None,
            "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
            "purchase": {
                "store_id": store_id,
                "receipt_id": receipt_id,
                "store_name": store_name,
                "partner": {"code": partner_code, "name": partner_name} if partner_code else None,
            }
            if store_id
            else None,
            "comment": entry.comment,
        }
        for entry, receipt_id, store_id, store_name, partner_code, partner_name in rows[:limit]
    ]
    next_cursor = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
