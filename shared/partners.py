"""Coalition partners: a partner, its agreements (money per point each way, over dates that never
overlap), its stores and its till keys. The retailer's own stores have no partner.

A partner's API key prices, confirms and refunds receipts only at that partner's stores. The check
costs nothing for the retailer's keys; for a partner's key it reads the store's partner from a
per-process memory (`StorePartners`, a few seconds old at most) or one indexed SELECT.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import partner_rates
from shared.apikeys import create_api_key
from shared.audit import record
from shared.clock import Clock
from shared.db.models import Store
from shared.db.models.partners import Partner, PartnerAgreement
from shared.errors import Conflict, FieldErrors, Forbidden, NotFound
from shared.inputs import date_problem, int_problem
from shared.stores import CODE_MESSAGE, CODE_RE, MAX_CODE, MAX_NAME, get_store, text_field

MAX_PRICE = 1_000_000  # kopecks per point: 10,000 rubles is already absurd
MAX_KEY_NAME = 100


@dataclass(frozen=True)
class PartnerFields:
    code: str
    name: str
    active: bool


def parse_partner(raw: Mapping[str, object]) -> PartnerFields:
    problems = FieldErrors()
    code = text_field(problems, raw, "code", MAX_CODE, required=True)
    if code is not None and not (code.isascii() and CODE_RE.fullmatch(code)):
        problems.add("code", CODE_MESSAGE)
    name = text_field(problems, raw, "name", MAX_NAME, required=True)
    active = raw.get("active", True)
    problems.raise_if_any("Some partner fields are invalid.")
    assert code is not None
    assert name is not None
    return PartnerFields(code, name, active not in (False, "", "0", "false", "off", None))


async def save_partner(
    session: AsyncSession, clock: Clock, fields: PartnerFields, *, actor: str, partner_id: int | None = None
) -> Partner:
    """A new partner (partner_id None) or a change of one's name and activity; the code never changes."""
    if partner_id is None:
        taken = (await session.execute(select(Partner.id).where(Partner.code == fields.code))).scalar()
        if taken is not None:
            raise Conflict(f"A partner with code {fields.code!r} exists.")
        partner = Partner(code=fields.code, name=fields.name, active=fields.active, created_at=clock.now())
        session.add(partner)
        await session.flush()
        record(session, clock, actor, "partner_created", ("partner", str(partner.id)), after=_fields_of(partner))
        return partner
    partner = await get_partner(session, partner_id)
    before = _fields_of(partner)
    partner.name, partner.active = fields.name, fields.active
    if before != _fields_of(partner):
        record(
            session,
            clock,
            actor,
            "partner_updated",
            ("partner", str(partner.id)),
            before=before,
            after=_fields_of(partner),
        )
    await session.flush()
    return partner


def _fields_of(partner: Partner) -> dict[str, Any]:
    return {"code": partner.code, "name": partner.name, "active": partner.active}


async def get_partner(session: AsyncSession, partner_id: int) -> Partner:
    partner = await session.get(Partner, partner_id) if 0 < partner_id < 2**63 else None
    if partner is None:
        raise NotFound("No such partner.")
    return partner


async def list_partners(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> tuple[list[Partner], int]:
    total = (await session.execute(select(func.count()).select_from(Partner))).scalar_one()
    rows = (await session.execute(select(Partner).order_by(Partner.code).limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


async def partner_names(session: AsyncSession) -> dict[int, str]:
    return dict((await session.execute(select(Partner.id, Partner.name))).all())


@dataclass(frozen=True)
class AgreementFields:
    issue_price: int
    redeem_price: int
    valid_from: date
    valid_to: date | None  # the last day it applies, inclusive
    earn_percent: int | None = None  # None: the member's tier rate


def _whole(problems: FieldErrors, raw: Mapping[str, object], name: str, high: int, unit: str) -> int:
    value = raw.get(name)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 9:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(name, f"must be a whole number of {unit}")
        return 0
    if message := int_problem(value, 0, high):
        problems.add(name, message)
    return value


def _day(problems: FieldErrors, raw: Mapping[str, object], name: str, *, required: bool) -> date | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(name, "is required")
        return None
    try:
        day = date.fromisoformat(str(value).strip()[:10]) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        problems.add(name, "must be a date, YYYY-MM-DD")
        return None
    if message := date_problem(day):
        problems.add(name, message)
        return None
    return day


def parse_agreement(raw: Mapping[str, object]) -> AgreementFields:
    problems = FieldErrors()
    issue_price = _whole(problems, raw, "issue_price", MAX_PRICE, "kopecks per point")
    redeem_price = _whole(problems, raw, "redeem_price", MAX_PRICE, "kopecks per point")
    earn = raw.get("earn_percent")
    empty = earn is None or (isinstance(earn, str) and not earn.strip())
    earn_percent = None if empty else _whole(problems, raw, "earn_percent", 100, "percent")
    valid_from = _day(problems, raw, "valid_from", required=True)
    valid_to = _day(problems, raw, "valid_to", required=False)
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        problems.add("valid_to", "must not be before valid_from")
    problems.raise_if_any("Some agreement fields are invalid.")
    assert valid_from is not None
    return AgreementFields(issue_price, redeem_price, valid_from, valid_to, earn_percent)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time(), zone)


async def add_agreement(
    session: AsyncSession, clock: Clock, partner: Partner, fields: AgreementFields, zone: ZoneInfo, *, actor: str
) -> PartnerAgreement:
    """A new agreement of the partner; Conflict when its dates overlap another one's. Writers of one
    partner's agreements queue on the partner row, so two overlapping ones never both land."""
    await _lock(session, partner.id)
    start = day_start(fields.valid_from, zone)
    end = day_start(fields.valid_to + timedelta(days=1), zone) if fields.valid_to is not None else None
    overlapping = select(PartnerAgreement.id).where(
        PartnerAgreement.partner_id == partner.id,
        (PartnerAgreement.valid_to.is_(None)) | (PartnerAgreement.valid_to > start),
    )
    if end is not None:
        overlapping = overlapping.where(PartnerAgreement.valid_from < end)
    if (await session.execute(overlapping.limit(1))).scalar() is not None:
        raise Conflict("These dates overlap another agreement of this partner; end that one first.")
    agreement = PartnerAgreement(
        partner_id=partner.id,
        issue_price=fields.issue_price,
        redeem_price=fields.redeem_price,
        earn_percent=fields.earn_percent,
        valid_from=start,
        valid_to=end,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(agreement)
    await session.flush()
    _forget_rates(session)
    after = {
        "earn_percent": fields.earn_percent,
        "issue_price": fields.issue_price,
        "redeem_price": fields.redeem_price,
        "valid_from": fields.valid_from.isoformat(),
        "valid_to": fields.valid_to.isoformat() if fields.valid_to else None,
    }
    record(session, clock, actor, "agreement_added", ("partner", str(partner.id)), after=after)
    return agreement


async def end_agreement(
    session: AsyncSession,
    clock: Clock,
    partner: Partner,
    agreement_id: int,
    last_day: date,
    zone: ZoneInfo,
    *,
    actor: str,
) -> PartnerAgreement:
    """Set the last day of an open-ended (or later-ending) agreement, so a new one can follow it."""
    await _lock(session, partner.id)
    agreement = await session.get(PartnerAgreement, agreement_id) if 0 < agreement_id < 2**63 else None
    if agreement is None or agreement.partner_id != partner.id:
        raise NotFound("No such agreement.")
    end = day_start(last_day + timedelta(days=1), zone)
    if end <= agreement.valid_from:
        raise Conflict("The last day must not be before the agreement's first day.")
    before = {"valid_to": agreement.valid_to.isoformat() if agreement.valid_to else None}
    agreement.valid_to = end
    _forget_rates(session)
    record(
        session,
        clock,
        actor,
        "agreement_ended",
        ("partner", str(partner.id)),
        before=before,
        after={"agreement": agreement.id, "valid_to": end.isoformat()},
    )
    await session.flush()
    return agreement


def _forget_rates(session: AsyncSession) -> None:
    """This process prices the next receipt by the change (other processes within a few seconds)."""
    bind = session.bind
    engine = bind if isinstance(bind, AsyncEngine) else getattr(bind, "engine", None)
    if isinstance(engine, AsyncEngine):
        partner_rates.forget(engine)  # and again once committed, in case a till reloaded in between
        event.listen(session.sync_session, "after_commit", lambda _: partner_rates.forget(engine), once=True)


async def _lock(session: AsyncSession, partner_id: int) -> None:
    stmt = select(Partner.id).where(Partner.id == partner_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    await session.execute(stmt)


async def agreements_of(session: AsyncSession, partner_id: int) -> list[PartnerAgreement]:
    stmt = select(PartnerAgreement).where(PartnerAgreement.partner_id == partner_id)
    return list((await session.execute(stmt.order_by(PartnerAgreement.valid_from))).scalars())


async def assign_store(session: AsyncSession, clock: Clock, code: str, partner: Partner | None, *, actor: str) -> Store:
    """Make the store the partner's (None: the retailer's own again), audited."""
    store = await get_store(session, code)
    if store is None:
        raise NotFound("No such store.")
    before = {"partner_id": store.partner_id}
    store.partner_id = partner.id if partner is not None else None
    _forget_rates(session)
    if before["partner_id"] != store.partner_id:
        record(
            session,
            clock,
            actor,
            "store_partner",
            ("store", code),
            before=before,
            after={"partner_id": store.partner_id},
        )
    await session.flush()
    return store


async def stores_of(session: AsyncSession, partner_id: int) -> list[Store]:
    return list(
        (await session.execute(select(Store).where(Store.partner_id == partner_id).order_by(Store.id))).scalars()
    )


async def create_partner_key(session: AsyncSession, clock: Clock, partner: Partner, name: str, *, actor: str) -> str:
    """A till key of the partner, shown once (only its hash is kept)."""
    problems = FieldErrors()
    name = text_field(problems, {"name": name}, "name", MAX_KEY_NAME, required=True) or ""
    problems.raise_if_any("The key needs a name.")
    if not partner.active:
        raise Conflict("The partner is not active.")
    key = await create_api_key(session, clock, name, partner_id=partner.id)
    record(session, clock, actor, "partner_key_created", ("partner", str(partner.id)), after={"name": name})
    return key


class StorePartners:
    """Each store's partner as this process last read it, for at most TTL seconds (a store moved to
    another partner is refused or let in by every process within that time)."""

    TTL = 30.0
    LIMIT = 100_000

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, int | None]] = {}

    def forget(self, code: str | None = None) -> None:
        """Forget one store, or every store (a partner was switched off or on)."""
        if code is None:
            self._seen.clear()
        else:
            self._seen.pop(code, None)

    async def partner_of(self, engine: AsyncEngine, code: str) -> int | None:
        """The store's partner; None for the retailer's own stores, stores we do not know and the stores of a
        partner that was switched off (so its keys are refused everywhere)."""
        moment = time.monotonic()
        seen = self._seen.get(code)
        if seen is not None and moment - seen[0] < self.TTL:
            return seen[1]
        partner_id: int | None = None
        if 0 < len(code) <= MAX_CODE:
            async with engine.connect() as connection:
                found = await connection.execute(
                    select(Store.partner_id)
                    .join(Partner, Partner.id == Store.partner_id)
                    .where(Store.id == code, Partner.active.is_(True))
                )
                partner_id = found.scalar()
        if len(self._seen) >= self.LIMIT:
            self._seen.clear()
        self._seen[code] = (moment, partner_id)
        return partner_id

    async def check(self, engine: AsyncEngine, key_partner: int | None, store_id: object) -> None:
        """Forbidden when a partner's key acts at a store that is not the partner's."""
        if key_partner is None:
            return
        code = store_id if isinstance(store_id, str) else ""
        if await self.partner_of(engine, code) != key_partner:
            raise Forbidden(
                f"This partner's API key may not act at store {code[:MAX_CODE]!r}: it is not the partner's."
            )


__all__ = [
    "AgreementFields",
    "PartnerFields",
    "StorePartners",
    "add_agreement",
    "agreements_of",
    "assign_store",
    "create_partner_key",
    "day_start",
    "end_agreement",
    "get_partner",
    "list_partners",
    "parse_agreement",
    "parse_partner",
    "partner_names",
    "save_partner",
    "stores_of",
]
