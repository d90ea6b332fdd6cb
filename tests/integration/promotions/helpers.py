"""Builders for promotion tests: promotions, codes and certificates made by the real services."""

from __future__ import annotations

from typing import Any

from shared.core import Core
from shared.promotions import certificates, codes, definitions


async def promotion(core: Core, **fields: Any) -> int:
    async with core.transaction() as session:
        return (await definitions.create_promotion(session, core.rules, fields, core.clock.now())).id


async def batch(core: Core, promotion_id: int, **fields: Any) -> list[str]:
    async with core.transaction() as session:
        made = await codes.create_batch(session, promotion_id, fields, core.clock.now())
        return [code for code, _, _ in await codes.batch_codes(session, made.id)]


async def certificate(core: Core, amount: int, **fields: Any) -> str:
    async with core.transaction() as session:
        return (await certificates.issue(session, {"amount": amount, **fields}, core.clock.now()))[0].number


async def certificate_balance(core: Core, number: str) -> int:
    async with core.reading() as session:
        return (await certificates.find_certificate(session, number)).balance


def line(sku: str, category: str, price: int, quantity: int = 1) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": sku,
        "category": category,
        "quantity": quantity,
        "price": price,
        "amount": price * quantity,
    }


def receipt(
    receipt_id: str, lines: list[dict[str, Any]], phone: str | None = "+79123456789", **extra: Any
) -> dict[str, Any]:
    return {
        "store_id": "msk-001",
        "receipt_id": receipt_id,
        "member": {"phone": phone} if phone else None,
        "lines": lines,
        "redeem": 0,
        **extra,
    }
