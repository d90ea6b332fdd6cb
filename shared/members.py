"""Members: one phone, one member; a card at once; consents with their proof."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import ledger
from shared.cards import is_valid_ean13, new_card_number
from shared.clock import Clock
from shared.db.models import Consent, Member
from shared.errors import FieldError, FieldErrors, InvalidInput, NotFound
from shared.events import EventKind, emit
from shared.inputs import has_control, text_problem, zone_problem
from shared.phones import normalize_phone
from shared.program import ProgramRules
from shared.vocabulary import CHANNELS, LANGUAGES, REGISTRATION_SOURCES

EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s\x00-\x1f\x7f-\x9f]{1,189}\.[^@\s\x00-\x1f\x7f-\x9f]{2,}$")


@dataclass
class Registration:
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    birth_date: date | None = None
    source: str = "api"  # where the member signs up: one of REGISTRATION_SOURCES (the API's `channel`)
    store_id: str | None = None
    referral: str | None = None  # the tag of the link or QR code that brought them (the API's `source`)
    time_zone: str | None = None
    language: str | None = None
    telegram_user_id: int | None = None
    consents: dict[str, bool] = field(default_factory=dict)
    consent_method: str | None = None


def validate_registration(reg: Registration, rules: ProgramRules, today: date) -> Registration:
    """Normalise and check every field, reporting all problems at once."""
    problems = FieldErrors()
    try:
        reg.phone = normalize_phone(reg.phone, rules.phone_region)
    except InvalidInput as exc:
        problems.items.extend(exc.errors)
    if reg.source not in REGISTRATION_SOURCES:
        problems.add("channel", f"must be one of {', '.join(REGISTRATION_SOURCES)}")
    for name in ("first_name", "last_name"):
        value = getattr(reg, name)
        if value is not None:
            value = value.strip()
            if (problem := text_problem(value, 100)) is not None:
                problems.add(name, problem)
            setattr(reg, name, value or None)
    if reg.email is not None:
        reg.email = reg.email.strip().lower() or None
        if reg.email and (len(reg.email) > 254 or has_control(reg.email) or not EMAIL_RE.match(reg.email)):
            problems.add("email", "not an e-mail address")
    if reg.birth_date is not None and not (date(1900, 1, 1) <= reg.birth_date <= today):
        problems.add("birth_date", "must be a real date between 1900-01-01 and today")
    if reg.time_zone is not None and (problem := zone_problem(reg.time_zone)) is not None:
        problems.add("time_zone", problem)
    if reg.language is not None and reg.language not in LANGUAGES:
        problems.add("language", f"must be {' or '.join(LANGUAGES)}")
    for channel in reg.consents:
        if channel not in CHANNELS:
            problems.add(f"consents.{channel}", f"unknown channel; use {', '.join(CHANNELS)}")
    for name, limit in (("store_id", 64), ("source", 128)):
        value = getattr(reg, name)
        if value is not None and (problem := text_problem(value, limit)) is not None:
            problems.add(name, problem)
    problems.raise_if_any("The member could not be registered.")
    return reg


async def register(session: AsyncSession, clock: Clock, rules: ProgramRules, reg: Registration) -> tuple[Member, bool]:
    """Register a phone or return the member who already has it: (member, created)."""
    now = clock.now()
    validate_registration(reg, rules, now.astimezone(rules.zone).date())
    existing = await find_by_phone(session, reg.phone)
    if existing is not None:
        return existing, False
    member = Member(
        id=uuid.uuid4(),
        phone=reg.phone,
        card_number=new_card_number(),
        first_name=reg.first_name,
        last_name=reg.last_name,
        email=reg.email,
        birth_date=reg.birth_date,
        birth_mmdd=reg.birth_date.month * 100 + reg.birth_date.day if reg.birth_date else None,
        time_zone=reg.time_zone,
        language=reg.language or rules.language,
        tier_code=rules.tiers[0].code,
        source=reg.source,
        registration_store=reg.store_id,
        referral=reg.referral,
        telegram_user_id=reg.telegram_user_id,
        available=0,
        pending=0,
        debt=0,
        wallet_serial=secrets.token_hex(16),
        wallet_auth_token=secrets.token_urlsafe(24),
        created_at=now,
        updated_at=now,
    )
    for _attempt in range(5):
        try:
            async with session.begin_nested():
                session.add(member)
                await session.flush()
            break
        except IntegrityError:
            # Another request registered this phone at the same moment, or the card number was taken.
            existing = await find_by_phone(session, reg.phone)
            if existing is not None:
                return existing, False
            member.card_number = new_card_number()
    else:
        raise RuntimeError("could not draw a free card number in 5 attempts")
    where = f"{reg.source}:{reg.store_id}" if reg.store_id else reg.source
    for channel, granted in reg.consents.items():
        session.add(
            Consent(
                member_id=member.id,
                channel=channel,
                granted=granted,
                changed_at=now,
                source=where,
                method=reg.consent_method or f"{reg.source}-registration",
            )
        )
    if rules.welcome.points:
        ledger.add_lot(
            session,
            member,
            kind="bonus",
            source="welcome",
            points=rules.welcome.points,
            now=now,
            available_at=now,
            expires_at=now + timedelta(days=rules.expiry_days),
            comment="welcome bonus",
        )
    await emit(
        session,
        EventKind.MEMBER_REGISTERED,
        member.id,
        {"channel": reg.source, "store_id": reg.store_id, "welcome_points": rules.welcome.points},
        now,
    )
    return member, True


async def find_by_phone(session: AsyncSession, phone: str) -> Member | None:
    return (await session.execute(select(Member).where(Member.phone == phone))).scalar_one_or_none()


async def get_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    return member


def member_lookup(rules: ProgramRules, ref: Any) -> tuple[str, Any, str]:
    """(column, value, not-found message) for {"phone"}, {"card_number"} or {"member_id"}."""
    if not isinstance(ref, dict) or len([k for k in ("phone", "card_number", "member_id") if ref.get(k)]) != 1:
        raise InvalidInput(
            "Identify the member by exactly one of phone, card_number or member_id.",
            [FieldError("member", "expected one of phone, card_number, member_id")],
        )
    if ref.get("phone"):
        phone = normalize_phone(str(ref["phone"]), rules.phone_region, field="member.phone")
        return "phone", phone, f"No member with phone {phone}; register them first with POST /api/v1/members."
    if ref.get("card_number"):
        card = str(ref["card_number"]).strip()
        if not is_valid_ean13(card):
            raise InvalidInput(
                "The card number is not a valid EAN-13.",
                [FieldError("member.card_number", "13 digits with a correct check digit")],
            )
        return "card_number", card, f"No member with card {card}."
    try:
        member_id = uuid.UUID(str(ref["member_id"]))
    except ValueError as exc:
        raise InvalidInput("member_id is not a UUID.", [FieldError("member.member_id", "expected a UUID")]) from exc
    return "id", member_id, f"No member with id {member_id}."


async def resolve_member(session: AsyncSession, rules: ProgramRules, ref: Any) -> Member:
    """Find a member by {"phone"}, {"card_number"} or {"member_id"}, or raise NotFound/InvalidInput."""
    column, value, missing = member_lookup(rules, ref)
    member = (await session.execute(select(Member).where(getattr(Member, column) == value))).scalar_one_or_none()
    if member is None:
        raise NotFound(missing)
    return member


async def set_consent(
    session: AsyncSession, clock: Clock, member: Member, channel: str, granted: bool, source: str, method: str
) -> Consent:
    if channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel {channel!r}.", [FieldError("channel", ", ".join(CHANNELS))])
    consent = (
        await session.execute(select(Consent).where(Consent.member_id == member.id, Consent.channel == channel))
    ).scalar_one_or_none()
    now = clock.now()
    if consent is None:
        consent = Consent(
            member_id=member.id, channel=channel, granted=granted, changed_at=now, source=source, method=method
        )
        session.add(consent)
        await mark_updated(session, member, [f"consents.{channel}"], now)
    elif consent.granted != granted:
        consent.granted, consent.changed_at, consent.source, consent.method = granted, now, source, method
        await mark_updated(session, member, [f"consents.{channel}"], now)
    return consent


async def mark_updated(session: AsyncSession, member: Member, changed: list[str], now: datetime, **about: str) -> None:
    """Say which of a member's fields changed (webhooks' member.updated); the values are not in
    the event: a receiver reads the member through the API. `about` adds identifiers only (such as
    the id of a member merged into this one), never personal data."""
    await emit(session, EventKind.MEMBER_UPDATED, member.id, {"changed": changed, **about}, now)


async def consents_of(session: AsyncSession, member_id: uuid.UUID) -> dict[str, Consent]:
    rows = (await session.execute(select(Consent).where(Consent.member_id == member_id))).scalars()
    return {row.channel: row for row in rows}


def local_now(rules: ProgramRules, member: Member, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(member.time_zone) if member.time_zone else rules.zone)
