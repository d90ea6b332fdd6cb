"""How a member looks through the API."""

from __future__ import annotations

from msgspec import convert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.balance import balance_view
from shared.core import Core
from shared.db.models import Member
from wallet.links import wallet_links
from webapp.api import schemas


async def member_view(core: Core, session: AsyncSession, member: Member) -> schemas.Member:
    balance = await balance_view(session, core.rules, member, core.clock.now())
    view = {
        "id": str(member.id),
        "phone": member.phone,
        "card_number": member.card_number,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "birth_date": member.birth_date.isoformat() if member.birth_date else None,
        "created_at": member.created_at.isoformat(),
        "tier": {"code": balance["tier"]["code"], "name": balance["tier"]["name"]},
        "balance": balance,
        "wallet": wallet_links(core.settings, member, core.clock.now()),
    }
    return convert(view, schemas.Member)
