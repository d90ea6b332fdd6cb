"""Staff accounts of the console: roles and argon2 password hashes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache

from passlib.context import CryptContext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import Clock
from shared.db.models.console import StaffAccount
from shared.errors import Conflict, FieldErrors, NotFound
from shared.i18n import LANGUAGES
from shared.members import EMAIL_RE

ADMIN, MARKETER, ANALYST, SUPPORT = "admin", "marketer", "analyst", "support"
PARTNER = "partner"  # a coalition partner's staff: its own stores and settlements, nothing else
ROLES = (ADMIN, MARKETER, ANALYST, SUPPORT, PARTNER)
MIN_PASSWORD = 10

_hasher = CryptContext(schemes=["argon2"])


@cache
def _dummy_hash() -> str:
    """Verifying against this when the e-mail is unknown makes both answers take the same time."""
    return str(_hasher.hash("no such account, same work"))


async def hash_password(password: str) -> str:
    """argon2id; about a second of CPU and 64 MiB, so it runs off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password: str, hashed: str) -> bool:
    return await asyncio.to_thread(_hasher.verify, password, hashed)


@dataclass(frozen=True)
class StaffView:
    """What the web layer may hold about a signed-in person (never the hash)."""

    id: int
    email: str
    role: str
    generation: int = 0  # the account's session generation when this view was read
    language: str | None = None  # the console language picked; None follows the browser
    partner_id: int | None = None  # the partner a `partner` account works for


def view(account: StaffAccount) -> StaffView:
    return StaffView(
        account.id, account.email, account.role, account.session_generation or 0, account.language, account.partner_id
    )


def _end_sessions(account: StaffAccount) -> None:
    """Every console session issued before this moment stops working (see webapp/console/session.py)."""
    account.session_generation = (account.session_generation or 0) + 1


def _check(email: str, role: str, password: str | None, partner_id: int | None = None) -> str:
    problems = FieldErrors()
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        problems.add("email", "not an e-mail address")
    if role not in ROLES:
        problems.add("role", f"must be one of {', '.join(ROLES)}")
    elif (role == PARTNER) != (partner_id is not None):
        problems.add("role", "a partner account is made on its partner's page, and only a partner account has one")
    if password is not None and len(password) < MIN_PASSWORD:
        problems.add("password", f"at least {MIN_PASSWORD} characters")
    problems.raise_if_any("The staff account is not valid.")
    return email


async def create_staff(
    session: AsyncSession,
    clock: Clock,
    email: str,
    role: str,
    password: str,
    *,
    actor: str = "cli",
    partner_id: int | None = None,
) -> StaffAccount:
    """A new account; a `partner` account names its partner (an existing one, checked by the foreign key)."""
    email = _check(email, role, password, partner_id)
    account = StaffAccount(
        email=email,
        role=role,
        partner_id=partner_id,
        password_hash=await hash_password(password),
        active=True,
        created_at=clock.now(),
        session_generation=0,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A staff account {email} already exists.") from exc
    after = {"email": email, "role": role} | ({"partner_id": partner_id} if partner_id is not None else {})
    audit.record(session, clock, actor, "staff.create", ("staff", str(account.id)), after=after)
    return account


async def authenticate(session: AsyncSession, clock: Clock, email: str, password: str) -> StaffAccount | None:
    """The active account with this e-mail and password, or None (same work either way)."""
    account = (
        await session.execute(select(StaffAccount).where(StaffAccount.email == email.strip().lower()))
    ).scalar_one_or_none()
    if account is None or not account.active:
        await _verify(password, await asyncio.to_thread(_dummy_hash))
        return None
    if not await _verify(password, account.password_hash):
        return None
    if _hasher.needs_update(account.password_hash):
        account.password_hash = await hash_password(password)
    account.last_login_at = clock.now()
    return account


async def active_staff(session: AsyncSession, staff_id: int) -> StaffAccount | None:
    account = await session.get(StaffAccount, staff_id)
    return account if account is not None and account.active else None


async def set_language(session: AsyncSession, staff_id: int, language: str | None) -> StaffAccount:
    """The console language this person picked (one of shared.i18n.LANGUAGES), or None to follow the browser."""
    if language is not None and language not in LANGUAGES:
        errors = FieldErrors()
        errors.add("language", f"must be one of {', '.join(LANGUAGES)}")
        errors.raise_if_any()
    account = await active_staff(session, staff_id)
    if account is None:
        raise NotFound("No such staff member.")
    account.language = language
    return account


async def list_staff(session: AsyncSession) -> list[StaffAccount]:
    return list((await session.execute(select(StaffAccount).order_by(StaffAccount.email))).scalars())


async def update_staff(
    session: AsyncSession, clock: Clock, staff_id: int, *, role: str, active: bool, actor: str
) -> StaffAccount:
    """Change a role or (de)activate; the last active admin cannot lock everyone out."""
    account = await session.get(StaffAccount, staff_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if account is None:
        raise NotFound(f"No staff account {staff_id}.")
    _check(account.email, role, None, account.partner_id if role == PARTNER else None)
    before = {"role": account.role, "active": account.active}
    if account.role == ADMIN and account.active and (role != ADMIN or not active):
        admins = (
            await session.execute(
                select(func.count())
                .select_from(StaffAccount)
                .where(StaffAccount.role == ADMIN, StaffAccount.active.is_(True))
            )
        ).scalar_one()
        if admins <= 1:
            raise Conflict("This is the last active admin; make another admin first.")
    account.role, account.active = role, active
    if role != PARTNER:
        account.partner_id = None
    if before != {"role": role, "active": active}:
        _end_sessions(account)  # the person signs in again under the new role (or not at all)
        audit.record(
            session,
            clock,
            actor,
            "staff.update",
            ("staff", str(account.id)),
            before=before,
            after={"role": role, "active": active},
        )
    return account


async def set_password(
    session: AsyncSession, clock: Clock, staff_id: int, password: str, *, actor: str
) -> StaffAccount:
    """A new password ends every console session of the account (a stolen cookie dies with the old one)."""
    account = await session.get(StaffAccount, staff_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if account is None:
        raise NotFound(f"No staff account {staff_id}.")
    if len(password) < MIN_PASSWORD:
        problems = FieldErrors()
        problems.add("password", f"at least {MIN_PASSWORD} characters")
        problems.raise_if_any("The password is not valid.")
    account.password_hash = await hash_password(password)
    _end_sessions(account)
    audit.record(session, clock, actor, "staff.password", ("staff", str(account.id)))
    return account


async def end_sessions(session: AsyncSession, staff_id: int, generation: int) -> bool:
    """Sign-out: move the generation on if it is still the one the session carries (one UPDATE)."""
    result = await session.execute(
        update(StaffAccount)
        .where(StaffAccount.id == staff_id, StaffAccount.session_generation == generation)
        .values(session_generation=StaffAccount.session_generation + 1)
    )
    return bool(getattr(result, "rowcount", 0))
