"""Two tills at the same moment on PostgreSQL: the last use of a code, the last of a certificate."""

from __future__ import annotations

import asyncio

import pytest

from shared.core import Core
from shared.errors import InvalidInput
from tests.integration.core.helpers import confirm, new_member, refund
from tests.integration.promotions.helpers import batch, certificate, certificate_balance, line, promotion, receipt

pytestmark = [pytest.mark.postgres_only, pytest.mark.pgbouncer]
WINE = line("w1", "wine", 150000)


async def test_the_last_use_of_a_seasonal_code_goes_to_exactly_one_till(core: Core) -> None:
    phones = [f"+7912345670{n}" for n in range(2)]
    for phone in phones:
        await new_member(core, phone=phone)
    pid = await promotion(core, name="AUTUMN", kind="discount", amount=50000, code_only=True)
    await batch(core, pid, kind="shared", code="AUTUMN", total_limit=1)
    for _ in range(5):  # several rounds: the race must be lost the same way every time
        answers = await asyncio.gather(
            *(confirm(core, receipt(f"T-{phone}-{_}", [WINE], phone=phone, promo_code="AUTUMN")) for phone in phones)
        )
        applied = [a["promo_code"]["applied"] for a, _ in answers]
        assert applied.count(True) <= 1
        if _ == 0:
            assert sorted(applied) == [False, True]
            loser = next(a for a, _ in answers if not a["promo_code"]["applied"])
            assert loser["promo_code"]["reason"] == "promo code limit reached"
            assert loser["discount"] == 0


async def test_fifty_tills_and_twenty_single_use_codes_with_a_limited_promotion(core: Core) -> None:
    phones = [f"+791234567{n:02d}" for n in range(50)]
    for phone in phones:
        await new_member(core, phone=phone)
    pid = await promotion(core, name="Welcome", kind="discount", percent=10, code_only=True, max_uses=7)
    made = await batch(core, pid, kind="unique", count=20)
    answers = await asyncio.gather(
        *(
            confirm(core, receipt(f"M-{n}", [WINE], phone=phone, promo_code=made[n % 20]))
            for n, phone in enumerate(phones)
        )
    )
    assert sum(a["promo_code"]["applied"] for a, _ in answers) == 7


async def test_one_certificate_two_tills_never_overdrawn(core: Core) -> None:
    for n in range(2):
        await new_member(core, phone=f"+7912345670{n}")
    number = await certificate(core, 100000)

    async def pay(n: int) -> int:
        try:
            answer, _ = await confirm(
                core,
                receipt(
                    f"C-{n}", [WINE], phone=f"+7912345670{n % 2}", certificates=[{"number": number, "amount": 60000}]
                ),
            )
        except InvalidInput:
            return 0
        return int(answer["certificates"][0]["applied"])

    paid = await asyncio.gather(*(pay(n) for n in range(6)))
    assert sorted(paid) == [0, 0, 0, 0, 0, 60000]
    assert await certificate_balance(core, number) == 40000


async def test_two_refunds_of_one_anonymous_receipt_give_the_certificate_back_once(core: Core) -> None:
    for round_ in range(3):  # the race must be lost the same way every time
        number = await certificate(core, 100000)
        await confirm(
            core, receipt(f"A-{round_}", [WINE], phone=None, certificates=[{"number": number, "amount": 60000}])
        )
        assert await certificate_balance(core, number) == 40000

        async def whole_refund(n: int, rid: str = f"A-{round_}") -> int:
            try:
                answer, _ = await refund(core, rid, {"refund_id": f"R-{n}", "amount": 150000})
            except InvalidInput:
                return 0
            return sum(c["amount"] for c in answer["certificates"])

        restored = await asyncio.gather(*(whole_refund(n) for n in range(2)))
        assert sorted(restored) == [0, 60000]
        assert await certificate_balance(core, number) == 100000
