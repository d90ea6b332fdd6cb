"""Support operations keep the ledger exact: sum of entries == available + pending, always."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from shared import jobs
from shared.audit import recent
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Consent, Entry, Lot, Member, OutboxEvent, Purchase
from shared.errors import InvalidInput, NotEnoughPoints, NotFound
from shared.support import adjust_points, find_members, merge_members
from tests.integration.core.helpers import confirm, member_row, new_member, receipt

KEEP, DUPLICATE = "+79123450011", "+79123450012"


async def ledger_sum(core: Core, member_id: uuid.UUID) -> int:
    async with core.reading() as session:
        return int(
            (
                await session.execute(
                    select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.member_id == member_id)
                )
            ).scalar_one()
        )


async def assert_exact(core: Core, member_id: uuid.UUID) -> Member:
    row = await member_row(core, member_id)
    assert await ledger_sum(core, member_id) == row.available + row.pending
    async with core.reading() as session:
        lots = (
            await session.execute(
                select(func.coalesce(func.sum(Lot.remaining), 0)).where(
                    Lot.member_id == member_id, Lot.status == "available"
                )
            )
        ).scalar_one()
    assert int(lots) - row.debt == row.available
    return row


async def adjust(
    core: Core, member_id: uuid.UUID, points: int, reason: str = "goodwill", request_id: str | None = None
) -> Member:
    async with core.transaction() as session:
        return await adjust_points(
            session,
            core.clock,
            core.rules,
            member_id,
            points,
            reason,
            actor="sup@example.com",
            request_id=request_id or uuid.uuid4().hex,
        )


async def test_adjusting_credits_and_debits_through_the_ledger_with_an_event_and_audit(core: Core) -> None:
    member = await new_member(core, KEEP)
    await adjust(core, member.id, 250, "lost receipt 17 Nov")
    row = await assert_exact(core, member.id)
    assert row.available == 350
    await adjust(core, member.id, -300, "duplicate accrual")
    row = await assert_exact(core, member.id)
    assert row.available == 50
    async with core.reading() as session:
        kinds = (await session.execute(select(OutboxEvent.kind).order_by(OutboxEvent.id))).scalars().all()
        comments = (
            (await session.execute(select(Entry.comment).where(Entry.kind == "adjustment").order_by(Entry.id)))
            .scalars()
            .all()
        )
        log = await recent(session)
    assert kinds == ["member_registered", "points_adjusted", "points_adjusted"]
    assert comments == ["lost receipt 17 Nov", "duplicate accrual"]
    assert [(e.action, e.actor, e.before["available"], e.after["available"]) for e in reversed(log)] == [
        ("member.adjust", "sup@example.com", 100, 350),
        ("member.adjust", "sup@example.com", 350, 50),
    ]


async def test_a_double_submitted_adjustment_counts_once(core: Core) -> None:
    member = await new_member(core, KEEP)
    await adjust(core, member.id, 40, request_id="form-token-1")
    await adjust(core, member.id, 40, request_id="form-token-1")
    assert (await assert_exact(core, member.id)).available == 140


async def test_an_adjustment_needs_a_reason_and_cannot_overdraw(core: Core) -> None:
    member = await new_member(core, KEEP)
    with pytest.raises(InvalidInput) as problem:
        await adjust(core, member.id, 10, reason=" ")
    assert [e.field for e in problem.value.errors] == ["reason"]
    with pytest.raises(NotEnoughPoints):
        await adjust(core, member.id, -101)
    assert (await assert_exact(core, member.id)).available == 100


async def test_merge_moves_everything_and_keeps_the_balance_exact(core: Core, clock: FixedClock) -> None:
    keep = await new_member(core, KEEP, consents={"sms": True})
    duplicate = await new_member(core, DUPLICATE, email="dup@example.com", consents={"sms": False, "email": True})
    await confirm(core, receipt("K1", KEEP, amount=200_000))  # +100 pending for keep
    await confirm(core, receipt("D1", DUPLICATE, amount=100_000))  # +50 pending for the duplicate
    clock.advance(days=1, minutes=1)
    await jobs.activate_due_lots(core, core.rules, clock.now())
    await confirm(core, receipt("D2", DUPLICATE, amount=100_000, redeem=120))  # spends, then +44 pending
    before_keep, before_dup = await assert_exact(core, keep.id), await assert_exact(core, duplicate.id)
    async with core.transaction() as session:
        kept = await merge_members(
            session,
            core.clock,
            core.rules,
            duplicate.id,
            keep.id,
            actor="sup@example.com",
            reason="same person, two cards",
        )
    row = await assert_exact(core, keep.id)
    assert (row.available, row.pending) == (
        before_keep.available + before_dup.available,
        before_keep.pending + before_dup.pending,
    )
    assert row.email == "dup@example.com"
    assert kept.phone == KEEP
    async with core.reading() as session:
        assert await session.get(Member, duplicate.id) is None
        owners = (
            await session.execute(select(Purchase.receipt_id, Purchase.member_id).order_by(Purchase.receipt_id))
        ).all()
        consents = {c.channel: c.granted for c in (await session.execute(select(Consent))).scalars()}
        log = await recent(session, target=("member", str(keep.id)))
    assert owners == [("D1", keep.id), ("D2", keep.id), ("K1", keep.id)]
    assert consents == {"sms": True, "email": True}  # same moment: the kept member's choice wins
    assert log[0].action == "member.merge"
    assert log[0].reason == "same person, two cards"
    assert log[0].before["duplicate"]["available"] == before_dup.available
    async with core.reading() as session:  # integrators (webhooks' member.updated) learn of the merge
        updated = (
            await session.execute(select(OutboxEvent.payload).where(OutboxEvent.kind == "member_updated"))
        ).scalars()
    assert {"changed": ["merged"], "merged_from": str(duplicate.id)} in list(updated)
    # the kept member spends what the duplicate brought, soonest-expiring first
    clock.advance(days=1, minutes=1)
    await jobs.activate_due_lots(core, core.rules, clock.now())
    await adjust(core, keep.id, -(await member_row(core, keep.id)).available)
    assert (await assert_exact(core, keep.id)).available == 0


async def test_merge_refuses_oneself_and_a_member_already_merged(core: Core) -> None:
    keep = await new_member(core, KEEP)
    duplicate = await new_member(core, DUPLICATE)
    with pytest.raises(InvalidInput):
        async with core.transaction() as session:
            await merge_members(session, core.clock, core.rules, keep.id, keep.id, actor="a", reason="")
    async with core.transaction() as session:
        await merge_members(session, core.clock, core.rules, duplicate.id, keep.id, actor="a", reason="")
    with pytest.raises(NotFound):
        async with core.transaction() as session:
            await merge_members(session, core.clock, core.rules, duplicate.id, keep.id, actor="a", reason="")
    assert (await assert_exact(core, keep.id)).available == 200


async def test_find_members_by_phone_card_email_and_last_name(core: Core) -> None:
    member = await new_member(core, KEEP, last_name="Смирнова", email="anna@example.com")
    await new_member(core, DUPLICATE, last_name="Петров")
    async with core.reading() as session:
        for query in ("8 912 345-00-11", member.card_number, "ANNA@example.com", "Смир", "смир"):
            assert [m.id for m in await find_members(session, core.rules, query)] == [member.id], query
        assert await find_members(session, core.rules, "nobody") == []


async def test_a_merge_racing_adjustments_on_both_members_loses_no_point(core: Core) -> None:
    keep = await new_member(core, KEEP)
    duplicate = await new_member(core, DUPLICATE)

    async def merge() -> None:
        async with core.transaction() as session:
            await merge_members(session, core.clock, core.rules, duplicate.id, keep.id, actor="a", reason="race")

    async def credit(member_id: uuid.UUID, points: int) -> int:
        try:
            await adjust(core, member_id, points)
        except NotFound:  # the duplicate was already merged away
            return 0
        return points

    results = await asyncio.gather(credit(duplicate.id, 30), merge(), credit(keep.id, 7), credit(duplicate.id, 5))
    row = await assert_exact(core, keep.id)
    assert row.available == 200 + results[0] + results[2] + results[3]
    async with core.reading() as session:
        assert await session.get(Member, duplicate.id) is None
        assert (
            await session.execute(select(func.count()).select_from(Entry).where(Entry.member_id == duplicate.id))
        ).scalar_one() == 0


async def test_after_a_merge_a_once_per_member_code_counts_the_person_not_the_card(core: Core) -> None:
    from tests.integration.promotions.helpers import batch, line, promotion
    from tests.integration.promotions.helpers import receipt as promo_receipt

    keep = await new_member(core, KEEP)
    duplicate = await new_member(core, DUPLICATE)
    pid = await promotion(core, name="WELCOME", kind="discount", amount=10000, code_only=True)
    await batch(core, pid, kind="shared", code="WELCOME", per_member_limit=1)
    wine = line("W-1", "wine", 100_000)
    used, _ = await confirm(core, promo_receipt("M-1", [wine], phone=DUPLICATE, promo_code="WELCOME"))
    assert used["promo_code"]["applied"] is True
    async with core.transaction() as session:
        await merge_members(session, core.clock, core.rules, duplicate.id, keep.id, actor="a", reason="same person")
    again, _ = await confirm(core, promo_receipt("M-2", [wine], phone=KEEP, promo_code="WELCOME"))
    assert again["promo_code"] == {
        **again["promo_code"],
        "applied": False,
        "reason": "promo code already used by this member",
    }
    assert (await assert_exact(core, keep.id)).id == keep.id
