"""One-time login codes: issue (limits per phone and address, per address, per phone and day; resend
throttle) and verify (attempts, expiry).

The code is kept only as an HMAC; the plain code travels once, in the LOGIN_CODE outbox event the
notifier turns into an SMS or a Telegram message. Counters are the rows themselves, so the limits
hold across processes; on PostgreSQL advisory locks per phone and per address serialise concurrent requests.

What one address can do to a phone stays with that address: the resend throttle and the hourly limit
count codes per phone *and* address, and a new code replaces only the earlier codes asked for from the
same address, so a stranger asking for codes neither uses up the shopper's codes nor kills the code the
shopper is typing. Wrong guesses are also counted per address (shared/ratelimit.py, see the cabinet's
login), which bounds how many codes a stranger can burn with guesses. The daily cap per phone bounds
the messages one number can cost. Codes go only to numbers of the calling codes the program allows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import phonenumbers
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import signing
from shared.config import CabinetSettings
from shared.db.models.login_codes import LoginCode
from shared.events import EventKind, emit
from shared.members import find_by_phone

CODE_DIGITS = 6
MAX_LIVE = 10  # live codes of one phone a guess is checked against (one per address that asked)


class IssueStatus(StrEnum):
    SENT = "sent"
    WAIT = "wait"  # resend throttle: a code went to this phone from this address moments ago
    LIMITED = "limited"  # too many codes for this phone from this address, from this address, or today


class VerifyStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"  # no live code: never sent, expired, used or burnt by too many guesses


@dataclass(frozen=True)
class IssueResult:
    status: IssueStatus
    retry_after: int = 0  # seconds until another code may be asked for


@dataclass(frozen=True)
class VerifyResult:
    status: VerifyStatus
    attempts_left: int = 0


def hash_code(secret: str, phone: str, code: str) -> str:
    return signing.digest(secret, "login", phone, code).hex()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


async def _lock(session: AsyncSession, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def issue_code(
    session: AsyncSession,
    limits: CabinetSettings,
    secret: str,
    phone: str,
    ip: str,
    now: datetime,
    language: str,
    code: str | None = None,
) -> IssueResult:
    """Send a fresh code to a normalised phone unless a limit says wait; earlier codes stop working."""
    ip = ip[:64]
    await _lock(session, "login:" + phone)  # always phone first, then address: no lock cycles
    await _lock(session, "login-ip:" + ip)
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    today = (
        await session.execute(
            select(LoginCode.created_at, LoginCode.ip)
            .where(LoginCode.phone == phone, LoginCode.created_at > day_ago)
            .order_by(LoginCode.created_at)
        )
    ).all()
    recent = [row.created_at for row in today if row.ip == ip and row.created_at > hour_ago]
    if recent and (wait := recent[-1] + timedelta(seconds=limits.resend_seconds) - now) > timedelta(0):
        return IssueResult(IssueStatus.WAIT, int(wait.total_seconds()) + 1)
    if len(recent) >= limits.codes_per_phone_hour:
        return IssueResult(IssueStatus.LIMITED, int((recent[0] + timedelta(hours=1) - now).total_seconds()) + 1)
    if len(today) >= limits.codes_per_phone_day:
        first = today[0].created_at
        return IssueResult(IssueStatus.LIMITED, int((first + timedelta(days=1) - now).total_seconds()) + 1)
    from_ip = (
        await session.execute(
            select(func.count()).select_from(LoginCode).where(LoginCode.ip == ip, LoginCode.created_at > hour_ago)
        )
    ).scalar_one()
    if from_ip >= limits.codes_per_ip_hour:
        return IssueResult(IssueStatus.LIMITED, 3600)
    live = (
        await session.execute(
            select(LoginCode).where(
                LoginCode.phone == phone, LoginCode.ip == ip, LoginCode.used_at.is_(None), LoginCode.expires_at > now
            )
        )
    ).scalars()
    for row in live:
        row.used_at = now  # only the newest code asked for from this address works
    code = code or new_code()
    session.add(
        LoginCode(
            phone=phone,
            ip=ip,
            code_hash=hash_code(secret, phone, code),
            created_at=now,
            expires_at=now + timedelta(seconds=limits.code_ttl_seconds),
            attempts=0,
        )
    )
    member = await find_by_phone(session, phone)
    await emit(
        session,
        EventKind.LOGIN_CODE,
        member.id if member else None,
        {"phone": phone, "code": code, "language": member.language if member else language},
        now,
    )
    return IssueResult(IssueStatus.SENT, limits.resend_seconds)


async def verify_code(
    session: AsyncSession, limits: CabinetSettings, secret: str, phone: str, code: str, now: datetime
) -> VerifyResult:
    """Check a guess against the phone's live codes (one per address that asked); a wrong guess counts
    against each of them (commit the session). A right one uses them all up."""
    await _lock(session, "login:" + phone)
    rows = (
        (
            await session.execute(
                select(LoginCode)
                .where(
                    LoginCode.phone == phone,
                    LoginCode.used_at.is_(None),
                    LoginCode.expires_at > now,
                    LoginCode.attempts < limits.code_attempts,
                )
                .order_by(LoginCode.created_at.desc())
                .limit(MAX_LIVE)
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        return VerifyResult(VerifyStatus.EXPIRED)
    guess = hash_code(secret, phone, code.strip())
    if any(signing.same(row.code_hash, guess) for row in rows):
        for row in rows:
            row.used_at = now
        return VerifyResult(VerifyStatus.OK)
    left = 0
    for row in rows:
        row.attempts += 1
        if row.attempts >= limits.code_attempts:
            row.used_at = now
        left = max(left, limits.code_attempts - row.attempts)
    return VerifyResult(VerifyStatus.WRONG, left) if left > 0 else VerifyResult(VerifyStatus.EXPIRED)


def allowed_calling_codes(setting: str, region: str) -> frozenset[int]:
    """The country calling codes codes may go to: the setting's list, else the program's country."""
    codes = {int(part) for part in setting.replace("+", "").replace(" ", "").split(",") if part.isdigit()}
    return frozenset(codes or {phonenumbers.country_code_for_region(region)})


def calling_code(phone: str) -> int:
    return int(phonenumbers.parse(phone).country_code or 0)
