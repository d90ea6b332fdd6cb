"""One-time login codes: issue (limits per phone and per IP, resend throttle) and verify (attempts, expiry).

The code is kept only as an HMAC; the plain code travels once, in the LOGIN_CODE outbox event the
notifier turns into an SMS or a Telegram message. Counters are the rows themselves, so the limits
hold across processes; on PostgreSQL advisory locks per phone and per address serialise concurrent requests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import CabinetSettings
from shared.db.login_code_models import LoginCode
from shared.events import EventKind, emit
from shared.members import find_by_phone

CODE_DIGITS = 6


class IssueStatus(StrEnum):
    SENT = "sent"
    WAIT = "wait"          # resend throttle: a code went to this phone moments ago
    LIMITED = "limited"    # too many codes for this phone or from this address in the last hour


class VerifyStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"    # no live code: never sent, expired, used or burnt by too many guesses


@dataclass(frozen=True)
class IssueResult:
    status: IssueStatus
    retry_after: int = 0   # seconds until another code may be asked for


@dataclass(frozen=True)
class VerifyResult:
    status: VerifyStatus
    attempts_left: int = 0


def hash_code(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"login:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


async def _lock(session: AsyncSession, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def issue_code(session: AsyncSession, limits: CabinetSettings, secret: str, phone: str, ip: str,
                     now: datetime, language: str, code: str | None = None) -> IssueResult:
    """Send a fresh code to a normalised phone unless a limit says wait; earlier codes stop working."""
    await _lock(session, "login:" + phone)  # always phone first, then address: no lock cycles
    await _lock(session, "login-ip:" + ip)
    hour_ago = now - timedelta(hours=1)
    recent = (await session.execute(select(LoginCode.created_at).where(
        LoginCode.phone == phone, LoginCode.created_at > hour_ago).order_by(LoginCode.created_at))).scalars().all()
    if recent and (wait := recent[-1] + timedelta(seconds=limits.resend_seconds) - now) > timedelta(0):
        return IssueResult(IssueStatus.WAIT, int(wait.total_seconds()) + 1)
    if len(recent) >= limits.codes_per_phone_hour:
        return IssueResult(IssueStatus.LIMITED, int((recent[0] + timedelta(hours=1) - now).total_seconds()) + 1)
    from_ip = (await session.execute(select(func.count()).select_from(LoginCode).where(
        LoginCode.ip == ip, LoginCode.created_at > hour_ago))).scalar_one()
    if from_ip >= limits.codes_per_ip_hour:
        return IssueResult(IssueStatus.LIMITED, 3600)
    live = (await session.execute(select(LoginCode).where(
        LoginCode.phone == phone, LoginCode.used_at.is_(None), LoginCode.expires_at > now))).scalars()
    for row in live:
        row.used_at = now  # only the newest code works
    code = code or new_code()
    session.add(LoginCode(phone=phone, ip=ip[:64], code_hash=hash_code(secret, phone, code), created_at=now,
                          expires_at=now + timedelta(seconds=limits.code_ttl_seconds), attempts=0))
    member = await find_by_phone(session, phone)
    await emit(session, EventKind.LOGIN_CODE, member.id if member else None,
               {"phone": phone, "code": code, "language": member.language if member else language}, now)
    return IssueResult(IssueStatus.SENT, limits.resend_seconds)


async def verify_code(session: AsyncSession, limits: CabinetSettings, secret: str, phone: str, code: str,
                      now: datetime) -> VerifyResult:
    """Check a guess against the phone's live code; a wrong guess is counted (commit the session)."""
    await _lock(session, "login:" + phone)
    row = (await session.execute(select(LoginCode).where(
        LoginCode.phone == phone, LoginCode.used_at.is_(None), LoginCode.expires_at > now)
        .order_by(LoginCode.created_at.desc()).limit(1))).scalar_one_or_none()
    if row is None or row.attempts >= limits.code_attempts:
        return VerifyResult(VerifyStatus.EXPIRED)
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, hash_code(secret, phone, code.strip())):
        left = limits.code_attempts - row.attempts
        if left <= 0:
            row.used_at = now
            return VerifyResult(VerifyStatus.EXPIRED)
        return VerifyResult(VerifyStatus.WRONG, left)
    row.used_at = now
    return VerifyResult(VerifyStatus.OK)
