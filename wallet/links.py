"""Links to a member's wallet cards: a signed, expiring .pkpass URL and a Save-to-Google-Wallet JWT."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared import signing
from shared.config import Settings
from shared.db.models import Member
from wallet.google_keys import google_save_url


def sign_pass_path(secret: str, serial: str, expires: int) -> str:
    return signing.signature(secret, "pkpass", serial, expires, size=18)


def verify_pass_signature(secret: str, serial: str, expires: int, signature: str, now: datetime) -> bool:
    if expires < now.timestamp():
        return False
    return signing.same(sign_pass_path(secret, serial, expires), signature)


def apple_pass_url(settings: Settings, member: Member, now: datetime) -> str:
    expires = int((now + timedelta(days=settings.wallet.link_ttl_days)).timestamp())
    signature = sign_pass_path(settings.secret, member.wallet_serial, expires)
    return f"{settings.public_url}/wallet/apple/{member.wallet_serial}.pkpass?expires={expires}&sig={signature}"


def wallet_links(settings: Settings, member: Member, now: datetime) -> dict[str, Any]:
    return {"apple_url": apple_pass_url(settings, member, now), "google_url": google_save_url(settings, member)}
