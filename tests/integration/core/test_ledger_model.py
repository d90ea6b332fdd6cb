"""Random purchases, redemptions, refunds and job runs against a small reference model, with two
promotions running: −10% on category "sale" and twice the points on category "wine".

Invariants after every step: the sum of a member's entries equals available + pending, their
lots agree with the running totals, and balances, debt and tier match the model's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from shared import jobs, purchases
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models import Entry, Lot, Member
from shared.errors import NotEnoughPoints
from shared.members import Registration, register
from shared.promotions import definitions
from tests.conftest import T0, empty_tables

PHONES = ["+79123450001", "+79123450002", "+79123450003"]
DAY = timedelta(days=1)


@dataclass
class ModelLot:
    order: int
    remaining: int
    available_at: datetime
    expires_at: datetime
    status: str
    purchase: str | None = None


@dataclass
class ModelPurchase:
    member: str
    at: datetime
    total: int
    redeemed: int
    paid: int
    accrued: int
    latest_expiry: datetime | None
    refunded: int = 0
    reversed: int = 0
    restored: int = 0


@dataclass
class ModelMember:
    lots: list[ModelLot] = field(default_factory=list)
    debt: int = 0
    tier: str = "standard"

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.status == "available") - self.debt

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.status == "pending")


class Model:
    """The rules of DESIGN.md written out plainly, without the database."""

    def __init__(self, core: Core) -> None:
        self.rules = core.rules
        self.members: dict[str, ModelMember] = {}
        self.purchases: dict[str, ModelPurchase] = {}
        self.order = 0

    def _lot(
        self,
        member: ModelMember,
        points: int,
        now: datetime,
        available_at: datetime,
        expires_at: datetime,
        purchase: str | None = None,
    ) -> None:
        self.order += 1
        lot = ModelLot(self.order, points, available_at, expires_at, "pending", purchase)
        member.lots.append(lot)
        if available_at <= now:
            self._activate(member, lot)

    def _activate(self, member: ModelMember, lot: ModelLot) -> None:
        lot.status = "available"
        repaid = min(member.debt, lot.remaining)
        lot.remaining -= repaid
        member.debt -= repaid

    def _spendable(self, member: ModelMember) -> list[ModelLot]:
        return sorted(
            (lot for lot in member.lots if lot.status == "available" and lot.remaining > 0),
            key=lambda lot: (lot.expires_at, lot.order),
        )

    def _draw(self, member: ModelMember, points: int) -> tuple[int, datetime | None]:
        """Take points from available lots, soonest-expiring first: (points left over, latest expiry drawn)."""
        left, latest = points, None
        for lot in self._spendable(member):
            if left == 0:
                break
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            latest = lot.expires_at if latest is None else max(latest, lot.expires_at)
        return left, latest

    def register(self, phone: str, now: datetime) -> None:
        member = self.members.setdefault(phone, ModelMember())
        self._lot(member, 100, now, now, now + timedelta(days=180))

    def spend_365(self, phone: str, as_of: datetime) -> int:
        return sum(
            p.paid - (p.paid * p.refunded // p.total if p.total else 0)
            for p in self.purchases.values()
            if p.member == phone and as_of - timedelta(days=365) < p.at <= as_of
        )

    def purchase(
        self, receipt: str, phone: str, amount: int, redeem: int, now: datetime, category: str = "x"
    ) -> int | None:
        member = self.members[phone]
        net = amount - (amount * 10 // 100 if category == "sale" else 0)
        maximum = max(0, min(member.available, net * 70 // 10000))
        if redeem > maximum:
            return None
        _, latest = self._draw(member, redeem)
        paid = net - redeem * 100
        rate = self.rules.tier(member.tier).accrual_percent * (2 if category == "wine" else 1)
        accrued = paid * rate // 10000
        self.purchases[receipt] = ModelPurchase(phone, now, net, redeem, paid, accrued, latest)
        if accrued:
            available_at = now + timedelta(hours=24)
            self._lot(member, accrued, now, available_at, available_at + timedelta(days=180), receipt)
        earned = self.rules.tier_for_spend(self.spend_365(phone, now))
        if self.rules.tier_rank(earned.code) > self.rules.tier_rank(member.tier):
            member.tier = earned.code
        return maximum

    def refund(self, receipt: str, amount: int, now: datetime) -> bool:
        purchase = self.purchases[receipt]
        if amount > purchase.total - purchase.refunded:
            return False
        member = self.members[purchase.member]
        purchase.refunded += amount
        to_reverse = purchase.accrued * purchase.refunded // purchase.total - purchase.reversed
        to_restore = purchase.redeemed * purchase.refunded // purchase.total - purchase.restored
        purchase.reversed += to_reverse
        purchase.restored += to_restore
        left = to_reverse
        own = next((lot for lot in member.lots if lot.purchase == receipt), None)
        if own is not None and own.status in ("pending", "available") and own.remaining > 0:
            take = min(own.remaining, left)
            own.remaining -= take
            left -= take
        left, _ = self._draw(member, left)
        member.debt += left
        if to_restore:
            self._lot(member, to_restore, now, now, purchase.latest_expiry or now + timedelta(days=180))
        return True

    def run_due(self, now: datetime) -> None:
        for member in self.members.values():
            for lot in sorted(member.lots, key=lambda lot: lot.order):
                if lot.status == "pending" and lot.available_at <= now:
                    self._activate(member, lot)
        for member in self.members.values():
            for lot in member.lots:
                if lot.status == "available" and lot.remaining > 0 and lot.expires_at <= now:
                    lot.remaining, lot.status = 0, "expired"
        for phone, member in self.members.items():
            member.tier = self.rules.tier_for_spend(self.spend_365(phone, now)).code


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FixedClock(T0)
        self.core = Core(settings, self.clock)
        self.run(empty_tables(self.core))
        self.model = Model(self.core)
        self.receipts = 0

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.core.close())
        self.loop.close()

    async def _register(self, phone: str) -> None:
        async with self.core.transaction() as session:
            await register(session, self.clock, self.core.rules, Registration(phone=phone))

    async def _promotions(self) -> None:
        async with self.core.transaction() as session:
            for body in (
                {"name": "Sale −10%", "kind": "discount", "percent": 10, "categories": ["sale"]},
                {"name": "Wine ×2", "kind": "accrual", "multiplier": 2, "categories": ["wine"]},
            ):
                await definitions.create_promotion(session, self.core.rules, body, self.clock.now())

    @initialize()
    def members(self) -> None:
        self.run(self._promotions())
        for phone in PHONES:
            self.run(self._register(phone))
            self.model.register(phone, self.clock.now())

    @rule(
        member=st.sampled_from(PHONES),
        amount=st.integers(100, 1_500_000),
        redeem=st.one_of(st.just(0), st.integers(0, 120), st.integers(0, 2000)),
        category=st.sampled_from(["x", "sale", "wine"]),
    )
    def purchase(self, member: str, amount: int, redeem: int, category: str) -> None:
        self.receipts += 1
        receipt = f"R{self.receipts}"
        body = {
            "store_id": "s1",
            "receipt_id": receipt,
            "member": {"phone": member},
            "redeem": redeem,
            "lines": [{"sku": "x", "category": category, "quantity": 1, "price": amount, "amount": amount}],
        }
        expected_max = self.model.purchase(receipt, member, amount, redeem, self.clock.now(), category)

        async def go() -> None:
            async with self.core.transaction() as session:
                await purchases.confirm(session, self.clock, self.core.rules, body)

        if expected_max is None:
            with pytest.raises(NotEnoughPoints):
                self.run(go())
        else:
            self.run(go())

    @precondition(lambda self: bool(self.model.purchases))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        receipt = data.draw(st.sampled_from(sorted(self.model.purchases)))
        purchase = self.model.purchases[receipt]
        left = purchase.total - purchase.refunded
        if left == 0:
            return
        amount = data.draw(st.integers(1, left))
        self.receipts += 1
        assert self.model.refund(receipt, amount, self.clock.now())

        async def go() -> None:
            async with self.core.transaction() as session:
                await purchases.refund(
                    session,
                    self.clock,
                    self.core.rules,
                    "s1",
                    receipt,
                    {"refund_id": f"F{self.receipts}", "amount": amount},
                )

        self.run(go())

    @rule(hours=st.integers(1, 24 * 120))
    def time_passes_and_jobs_run(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.run(jobs.run_due(self.core, self.clock, self.core.rules))
        self.model.run_due(self.clock.now())

    @invariant()
    def agrees_with_the_model(self) -> None:
        async def state() -> list[tuple[str, int, int, int, str, int, int, int]]:
            async with self.core.reading() as session:
                rows = []
                for member in (await session.execute(select(Member).order_by(Member.phone))).scalars():
                    total = (
                        await session.execute(
                            select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member.id)
                        )
                    ).scalar_one()
                    lots = {
                        status: int(points)
                        for status, points in (
                            await session.execute(
                                select(Lot.status, func.coalesce(func.sum(Lot.remaining), 0))
                                .where(Lot.member_id == member.id)
                                .group_by(Lot.status)
                            )
                        ).all()
                    }
                    rows.append(
                        (
                            member.phone,
                            member.available,
                            member.pending,
                            member.debt,
                            member.tier_code,
                            int(total),
                            lots.get("available", 0),
                            lots.get("pending", 0),
                        )
                    )
                return rows

        for phone, available, pending, debt, tier, total, lots_available, lots_pending in self.run(state()):
            expected = self.model.members[phone]
            assert total == available + pending, "entries must sum to the balance"
            assert lots_available - debt == available, "lots must agree"
            assert lots_pending == pending, "lots must agree"
            assert debt >= 0, "negative only through debt"
            assert available >= 0 or debt > 0, "negative only through debt"
            assert (available, pending, debt, tier) == (
                expected.available,
                expected.pending,
                expected.debt,
                expected.tier,
            )


def test_ledger_agrees_with_the_reference_model(settings: Settings) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(settings),
        settings=hsettings(
            max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
