"""PassKit web-service logic (register, unregister, updated serials, latest pass), framework-free."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import i18n
from shared.config import Settings
from shared.db.models import Member
from shared.db.models.wallet import WalletRegistration
from shared.program import ProgramRules
from shared.store_locations import home_store, nearest_stores
from wallet.dev_certs import ensure_dev_chain
from wallet.pkpass import PassData, build_pkpass, pass_json
from wallet.signing import signer_for

LOG_MAX_BODY = 16 * 1024  # bytes of one POST /v1/log request
LOG_MAX_LINES = 20  # messages in its "logs" array (a device sends a few)
LOG_MAX_LINE = 300  # characters kept of each message
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}  # controls, newlines, bidi overrides, ...


class BadDeviceLog(Exception):
    """A device-log request we do not write: `status` 413 (too large) or 400 (not Apple's shape)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def clean_log_line(text: str) -> str:
    """One line fit for our log: no control characters (so no forged lines), at most LOG_MAX_LINE."""
    line = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in text[: LOG_MAX_LINE * 4]
        if ch in "\t\r\n" or unicodedata.category(ch) not in _UNPRINTABLE
    )
    line = " ".join(line.split())
    return line if len(line) <= LOG_MAX_LINE else line[: LOG_MAX_LINE - 1] + "…"


def device_log_lines(body: bytes) -> list[str]:
    """The messages of Apple's `{"logs": ["..."]}`, cleaned; raises BadDeviceLog for anything else."""
    if len(body) > LOG_MAX_BODY:
        raise BadDeviceLog(413, f"larger than {LOG_MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadDeviceLog(400, "not JSON") from None
    logs = data.get("logs") if isinstance(data, dict) else None
    if not isinstance(logs, list) or not all(isinstance(line, str) for line in logs):
        raise BadDeviceLog(400, 'expected {"logs": ["message", ...]}')
    if len(logs) > LOG_MAX_LINES:
        raise BadDeviceLog(413, f"more than {LOG_MAX_LINES} messages")
    return [line for line in map(clean_log_line, logs) if line]


class WrongToken(Exception):
    """The ApplePass token does not belong to this pass (401)."""


async def member_for_pass(session: AsyncSession, serial: str, token: str | None) -> Member:
    """The pass's member, checking the ApplePass token in constant time; unknown serials look the same."""
    member = (await session.execute(select(Member).where(Member.wallet_serial == serial))).scalar_one_or_none()
    expected = member.wallet_auth_token if member is not None else "x" * 32
    if token is None or not hmac.compare_digest(expected.encode(), token.encode()) or member is None:
        raise WrongToken
    return member


def update_tag(member: Member) -> datetime:
    return member.wallet_updated_at or member.created_at


async def register_device(session: AsyncSession, device_id: str, serial: str, push_token: str, now: datetime) -> bool:
    """True when this device is new for this pass (201), False when it was known (200)."""
    known = (
        await session.execute(
            select(WalletRegistration).where(
                WalletRegistration.device_id == device_id, WalletRegistration.serial == serial
            )
        )
    ).scalar_one_or_none()
    if known is not None:
        known.push_token = push_token
        return False
    try:
        async with session.begin_nested():
            session.add(WalletRegistration(device_id=device_id, serial=serial, push_token=push_token, created_at=now))
    except IntegrityError:  # the same device registering twice at once
        return False
    return True


async def unregister_device(session: AsyncSession, device_id: str, serial: str) -> None:
    await session.execute(
        delete(WalletRegistration).where(WalletRegistration.device_id == device_id, WalletRegistration.serial == serial)
    )


async def serials_updated_since(session: AsyncSession, device_id: str, since: float | None) -> tuple[list[str], str]:
    rows = (
        await session.execute(
            select(Member.wallet_serial, Member.wallet_updated_at, Member.created_at)
            .join(WalletRegistration, WalletRegistration.serial == Member.wallet_serial)
            .where(WalletRegistration.device_id == device_id)
        )
    ).all()
    changed = [
        (serial, (updated or created).timestamp())
        for serial, updated, created in rows
        if since is None or (updated or created).timestamp() > since
    ]
    last = max((stamp for _, stamp in changed), default=since or 0.0)
    return [serial for serial, _ in changed], f"{last:.6f}"


async def store_locations(session: AsyncSession, member: Member) -> list[dict[str, object]]:
    """The ten stores nearest the member's home store, each with a lock-screen line in their language."""
    stores = await nearest_stores(session, await home_store(session, member))
    return [
        {
            "latitude": s.latitude,
            "longitude": s.longitude,
            "relevantText": i18n.text(member.language, "wallet", "store_nearby", name=s.name),
        }
        for s in stores
    ]


async def pass_data(session: AsyncSession, rules: ProgramRules, member: Member) -> PassData:
    name = " ".join(part for part in (member.first_name, member.last_name) if part) or None
    return PassData(
        serial=member.wallet_serial,
        auth_token=member.wallet_auth_token,
        card_number=member.card_number,
        name=name,
        available=member.available,
        pending=member.pending,
        tier=rules.tier(member.tier_code).title(member.language),
        language=member.language,
        locations=await store_locations(session, member),
    )


def sign_pass(settings: Settings, data: PassData) -> bytes:
    creds = ensure_dev_chain(settings)
    password = (
        settings.wallet.apple_key_password.get_secret_value().encode() if settings.wallet.apple_key_password else None
    )
    return build_pkpass(settings, signer_for(creds.cert, creds.key, creds.wwdr, password), data)


async def pass_for(session: AsyncSession, settings: Settings, rules: ProgramRules, member: Member) -> bytes:
    return sign_pass(settings, await pass_data(session, rules, member))


@dataclass(frozen=True)
class PassValidators:
    """HTTP validators of a pass download. The ETag is a digest of the pass.json the request would
    get, so it changes with the balance at once, before the worker moves the update tag. HTTP
    dates have whole seconds: a change later in the same second as the tag would hide behind an
    If-Modified-Since equal to it. So while the tag's second is not over, Last-Modified says the
    second before and If-Modified-Since never answers 304 (a few extra downloads instead of a card
    stuck on the old balance)."""

    etag: str
    last_modified: datetime
    settled: bool  # the tag's second is over: a later change gets a later Last-Modified

    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag, "Last-Modified": format_datetime(self.last_modified, usegmt=True)}

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """RFC 9110 13.2.2: If-None-Match when sent, else If-Modified-Since."""
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or self.etag in tags
        if not if_modified_since or not self.settled:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return self.last_modified <= since.astimezone(UTC)


def pass_validators(settings: Settings, member: Member, data: PassData, now: datetime) -> PassValidators:
    body = json.dumps(pass_json(settings, data), ensure_ascii=False, sort_keys=True).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    modified = update_tag(member).astimezone(UTC).replace(microsecond=0)
    settled = modified < now.astimezone(UTC).replace(microsecond=0)
    return PassValidators(etag, modified if settled else modified - timedelta(seconds=1), settled)
