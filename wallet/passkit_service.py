"""PassKit web-service logic (register, unregister, updated serials, latest pass), framework-free."""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db.models import Member, Store
from shared.program import ProgramRules
from wallet.dev_certs import ensure_dev_chain
from wallet.models import WalletRegistration
from wallet.pkpass import PassData, build_pkpass
from wallet.signing import signer_for


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


async def register_device(session: AsyncSession, device_id: str, serial: str, push_token: str,
                          now: datetime) -> bool:
    """True when this device is new for this pass (201), False when it was known (200)."""
    known = (await session.execute(select(WalletRegistration).where(
        WalletRegistration.device_id == device_id, WalletRegistration.serial == serial))).scalar_one_or_none()
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
    await session.execute(delete(WalletRegistration).where(
        WalletRegistration.device_id == device_id, WalletRegistration.serial == serial))


async def serials_updated_since(session: AsyncSession, device_id: str, since: float | None
                                ) -> tuple[list[str], str]:
    rows = (await session.execute(
        select(Member.wallet_serial, Member.wallet_updated_at, Member.created_at)
        .join(WalletRegistration, WalletRegistration.serial == Member.wallet_serial)
        .where(WalletRegistration.device_id == device_id))).all()
    changed = [(serial, (updated or created).timestamp()) for serial, updated, created in rows
               if since is None or (updated or created).timestamp() > since]
    last = max((stamp for _, stamp in changed), default=since or 0.0)
    return [serial for serial, _ in changed], f"{last:.6f}"


async def store_locations(session: AsyncSession, language: str) -> list[dict[str, object]]:
    stores = (await session.execute(select(Store).where(Store.latitude.is_not(None)).limit(10))).scalars()
    nearby = "Магазин рядом" if language == "ru" else "A store nearby"
    return [{"latitude": s.latitude, "longitude": s.longitude, "relevantText": f"{nearby}: {s.name}"}
            for s in stores]


async def pass_for(session: AsyncSession, settings: Settings, rules: ProgramRules, member: Member) -> bytes:
    creds = ensure_dev_chain(settings)
    password = settings.wallet.apple_key_password.get_secret_value().encode() \
        if settings.wallet.apple_key_password else None
    signer = signer_for(creds.cert, creds.key, creds.wwdr, password)
    name = " ".join(part for part in (member.first_name, member.last_name) if part) or None
    data = PassData(serial=member.wallet_serial, auth_token=member.wallet_auth_token,
                    card_number=member.card_number, name=name, available=member.available, pending=member.pending,
                    tier=rules.tier(member.tier_code).title(member.language), language=member.language,
                    locations=await store_locations(session, member.language))
    return build_pkpass(settings, signer, data)
