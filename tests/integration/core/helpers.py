"""Small builders for receipts and members used across core tests."""

from __future__ import annotations

from typing import Any

from shared import purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Member
from shared.members import Registration, register


async def new_member(core: Core, phone: str = "+79123456789", **fields: Any) -> Member:
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone=phone, **fields))
    return member


def receipt(
    receipt_id: str,
    phone: str | None = "+79123456789",
    *,
    amount: int = 100000,
    redeem: Any = 0,
    category: str = "food",
    store: str = "msk-001",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "store_id": store,
        "receipt_id": receipt_id,
        "member": {"phone": phone} if phone else None,
        "lines": [
            {"sku": "sku-1", "name": "Goods", "category": category, "quantity": 1, "price": amount, "amount": amount}
        ],
        "redeem": redeem,
        **extra,
    }


async def confirm(core: Core, body: dict[str, Any], clock: FixedClock | None = None) -> tuple[dict[str, Any], bool]:
    async with core.transaction() as session:
        return await purchases.confirm(session, clock or core.clock, core.rules, body)


async def refund(
    core: Core, receipt_id: str, body: dict[str, Any], store: str = "msk-001"
) -> tuple[dict[str, Any], bool]:
    async with core.transaction() as session:
        return await purchases.refund(session, core.clock, core.rules, store, receipt_id, body)


async def member_row(core: Core, member_id: Any) -> Member:
    async with core.reading() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return member
