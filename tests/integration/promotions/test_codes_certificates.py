"""Promo codes (reasons, limits, single use, refund gives back) and gift certificates (pay part,
exactly once, refund back onto the certificate)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import purchases
from shared.core import Core
from shared.errors import InvalidInput
from tests.integration.core.helpers import confirm, new_member, refund
from tests.integration.promotions.helpers import batch, certificate, certificate_balance, line, promotion, receipt

WINE = line("w1", "wine", 150000)


async def calculate(core: Core, body: dict) -> dict:  # type: ignore[type-arg]
    async with core.reading() as session:
        return await purchases.calculate(session, core.clock, core.rules, body)


async def test_unique_codes_are_single_use_and_refused_with_a_reason(core: Core) -> None:
    await new_member(core)
    await new_member(core, phone="+79123456780")
    pid = await promotion(core, name="Welcome −300 ₽", kind="discount", amount=30000, code_only=True)
    made = await batch(core, pid, kind="unique", count=50, prefix="W-")
    assert len(set(made)) == 50
    assert all(c.startswith("W-") and len(c) == 10 for c in made)
    assert (await calculate(core, receipt("U-0", [WINE])))["discount"] == 0  # code-only: nothing without it
    used, _ = await confirm(core, receipt("U-1", [WINE], promo_code=made[0].lower()))
    assert used["discount"] == 30000
    assert used["promo_code"]["applied"] is True
    again, _ = await confirm(core, receipt("U-2", [WINE], phone="+79123456780", promo_code=made[0]))
    assert again["promo_code"] == {"code": made[0], "applied": False, "reason": "promo code already used"}
    assert again["discount"] == 0
    assert "Промокод " + made[0] + " не применён: код уже использован" in again["receipt_text"]
    unknown = await calculate(core, receipt("U-3", [WINE], promo_code="NOPE"))
    assert unknown["promo_code"]["reason"] == "unknown promo code"
    await refund(core, "U-1", {"refund_id": "F-1", "amount": 120000})
    back, _ = await confirm(core, receipt("U-4", [WINE], phone="+79123456780", promo_code=made[0]))
    assert back["promo_code"]["applied"] is True  # the fully refunded receipt gave the code back


async def test_expired_code_and_codes_needing_qualifying_items(core: Core) -> None:
    await new_member(core)
    ends = core.clock.now() + timedelta(hours=1)
    pid = await promotion(
        core,
        name="Pastry week",
        kind="discount",
        percent=20,
        categories=["pastry"],
        code_only=True,
        ends_at=ends.isoformat(),
    )
    await batch(core, pid, kind="shared", code="PASTRY")
    nothing = await calculate(core, receipt("E-1", [WINE], promo_code="PASTRY"))
    assert nothing["promo_code"]["reason"] == "nothing on the receipt qualifies"
    core.clock.advance(hours=2)  # type: ignore[attr-defined]
    expired, created = await confirm(core, receipt("E-2", [line("p1", "pastry", 10000)], promo_code="PASTRY"))
    assert created
    assert expired["promo_code"]["reason"] == "promo code expired"
    assert expired["discount"] == 0


async def test_seasonal_code_limits_in_all_and_per_member(core: Core) -> None:
    for n in range(3):
        await new_member(core, phone=f"+7912345678{n}")
    pid = await promotion(core, name="AUTUMN", kind="discount", amount=50000, code_only=True)
    await batch(core, pid, kind="shared", code="AUTUMN", total_limit=2, per_member_limit=1)
    first, _ = await confirm(core, receipt("S-1", [WINE], phone="+79123456780", promo_code="AUTUMN"))
    twice, _ = await confirm(core, receipt("S-2", [WINE], phone="+79123456780", promo_code="AUTUMN"))
    anonymous = await calculate(core, receipt("S-5", [WINE], phone=None, promo_code="AUTUMN"))
    second, _ = await confirm(core, receipt("S-3", [WINE], phone="+79123456781", promo_code="AUTUMN"))
    third, _ = await confirm(core, receipt("S-4", [WINE], phone="+79123456782", promo_code="AUTUMN"))
    assert [a["promo_code"]["reason"] for a in (first, twice, anonymous, second, third)] == [
        None,
        "promo code already used by this member",
        "identify the member to use this promo code",
        None,
        "promo code limit reached",
    ]


async def test_certificate_smaller_than_the_receipt_pays_part_and_refund_puts_it_back(core: Core) -> None:
    member = await new_member(core)
    number = await certificate(core, 50000)
    asked = receipt("G-1", [WINE], redeem=100, certificates=[{"number": number}])
    preview = await calculate(core, asked)
    assert preview["certificates"] == [
        {"number": number, "requested": None, "applied": 50000, "balance": 0, "reason": None}
    ]
    assert preview["payable"] == 150000 - 10000 - 50000
    assert preview["accrue"] == 45  # 5% of the 900 ₽ paid in money; certificates earn nothing
    answer, created = await confirm(core, asked)
    retry, again = await confirm(core, asked)
    assert created
    assert not again
    assert retry == answer
    assert await certificate_balance(core, number) == 0
    assert sum(ln["certificate"] for ln in answer["lines"]) == 50000
    done, _ = await refund(core, "G-1", {"refund_id": "F-1", "amount": 75000})  # half of the receipt
    assert done["certificates"] == [{"number": number, "amount": 25000}]
    assert await certificate_balance(core, number) == 25000
    await refund(core, "G-1", {"refund_id": "F-2", "amount": 75000})
    assert await certificate_balance(core, number) == 50000
    assert member is not None


async def test_certificate_refusals(core: Core) -> None:
    await new_member(core)
    expired = await certificate(core, 50000, expires_at=(core.clock.now() + timedelta(hours=1)).isoformat())
    small = await certificate(core, 1000)
    core.clock.advance(hours=2)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="certificate expired"):
        await confirm(core, receipt("X-1", [WINE], certificates=[{"number": expired}]))
    with pytest.raises(InvalidInput) as too_much:
        await confirm(core, receipt("X-2", [WINE], certificates=[{"number": small, "amount": 5000}]))
    assert too_much.value.extra == {"max": 1000}
    with pytest.raises(InvalidInput, match="unknown certificate"):
        await confirm(core, receipt("X-3", [WINE], certificates=[{"number": "1234"}]))
    assert await certificate_balance(core, small) == 1000  # nothing half-written
    preview = await calculate(core, receipt("X-4", [WINE], phone=None, certificates=[{"number": small}]))
    assert preview["payable"] == 149000  # anonymous receipts may pay with certificates
