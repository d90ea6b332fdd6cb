"""Purchases at the till: calculate (changes nothing), confirm and refund, exactly once each."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared import apikeys, ledger, receipt_ledger
from shared import rules as arithmetic
from shared.balance import balance_from_lots, balance_view
from shared.clock import Clock
from shared.db.models import Member, Purchase, Refund
from shared.errors import Conflict, FieldError, InvalidInput, NotEnoughPoints, NotFound
from shared.events import EventKind, emit, event_row
from shared.members import member_lookup, resolve_member
from shared.program import ProgramRules
from shared.promotions import checkout, engine
from shared.promotions.checkout import NO_OFFER, Offer
from shared.receipt_text import receipt_lines
from shared.receipts import ReceiptRequest, RefundRequest, parse_receipt, parse_refund


@dataclass
class Pricing:
    total: int
    discount: int
    requested: int | str
    applied: int
    max: int
    accrue: int
    payable: int
    percent: int
    birthday: bool
    line_discount: list[int]
    line_redeem: list[int]
    line_accrue: list[int]
    touches: engine.Touches
    line_certificate: list[int]
    certificates: list[dict[str, Any]]

    @property
    def certified(self) -> int:
        return sum(self.line_certificate)


def price_receipt(
    rules: ProgramRules,
    request: ReceiptRequest,
    member: Member | None,
    at: datetime,
    *,
    strict: bool,
    offer: Offer = NO_OFFER,
) -> Pricing:
    """Price a receipt for a member; strict (confirm) refuses more points than allowed.

    Order (docs/promotions.md): discounts, then points (capped on the discounted receipt), then
    gift certificates, then accrual on the money paid, boosted by accrual promotions."""
    total = request.total
    nothing = [0] * len(request.lines)
    touches = engine.Touches([[] for _ in request.lines])
    line_discount = engine.apply_discounts(request.lines, offer.promotions, touches) if offer.promotions else nothing
    discount = sum(line_discount)
    after_discount = [line.amount - d for line, d in zip(request.lines, line_discount, strict=True)]
    if member is None:
        if request.redeem not in (0, "max"):
            raise InvalidInput(
                "An anonymous receipt cannot be paid with points.",
                [FieldError("member", "identify the member to redeem points")],
            )
        certified, views = checkout.pay_with_certificates(offer, total - discount, strict)
        line_cert = arithmetic.distribute(certified, after_discount)
        return Pricing(
            total,
            discount,
            request.redeem,
            0,
            0,
            0,
            total - discount - certified,
            0,
            False,
            line_discount,
            nothing,
            nothing,
            touches,
            line_cert,
            views,
        )
    cap = arithmetic.redemption_cap(rules, total - discount)
    maximum = max(0, min(member.available, cap))
    wanted = maximum if request.redeem == "max" else int(request.redeem)
    if wanted > maximum:
        if strict:
            reason = "above the redemption cap" if wanted <= member.available else "more than available"
            raise NotEnoughPoints(f"{wanted} points is {reason}; at most {maximum} can be spent.", max=maximum)
        wanted = maximum
    line_redeem = arithmetic.distribute(wanted * rules.point_value, after_discount)
    after_redeem = [amount - r for amount, r in zip(after_discount, line_redeem, strict=True)]
    certified, views = checkout.pay_with_certificates(offer, sum(after_redeem), strict)
    line_cert = arithmetic.distribute(certified, after_redeem)
    paid = [amount - c for amount, c in zip(after_redeem, line_cert, strict=True)]
    zone = arithmetic.member_zone(rules, member.time_zone)
    percent, birthday = arithmetic.accrual_percent(
        rules, member.tier_code, member.birth_date, at, zone, offer.earn_percent
    )
    accrue, line_accrue = engine.boosted_accrual(rules, request.lines, paid, percent, offer.promotions, touches)
    return Pricing(
        total,
        discount,
        request.redeem,
        wanted,
        maximum,
        accrue,
        sum(paid),
        percent,
        birthday,
        line_discount,
        line_redeem,
        line_accrue,
        touches,
        line_cert,
        views,
    )


def pricing_view(
    rules: ProgramRules,
    request: ReceiptRequest,
    pricing: Pricing,
    balance_after: int | None,
    offer: Offer = NO_OFFER,
) -> dict[str, Any]:
    code = offer.code_view(pricing.touches) if request.promo_code is not None else None
    promotions = list(pricing.touches.totals.values())
    return {
        "total": pricing.total,
        "discount": pricing.discount,
        "redeem": {"requested": pricing.requested, "applied": pricing.applied, "max": pricing.max},
        "accrue": pricing.accrue,
        "accrual_percent": pricing.percent,
        "payable": pricing.payable,
        "lines": [
            {
                "sku": line.sku,
                "amount": line.amount,
                "discount": d,
                "redeem": r,
                "accrue": a,
                "certificate": c,
                "promotions": touched,
            }
            for line, d, r, a, c, touched in zip(
                request.lines,
                pricing.line_discount,
                pricing.line_redeem,
                pricing.line_accrue,
                pricing.line_certificate,
                pricing.touches.by_line,
                strict=True,
            )
        ],
        "promotions": promotions,
        "promo_code": code,
        "certificates": pricing.certificates,
        "receipt_text": receipt_lines(
            rules,
            pricing.applied,
            pricing.accrue,
            balance_after,
            pricing.birthday,
            promotions=promotions,
            code=code,
            certificates=pricing.certificates,
            partner=offer.partner,
        ),
    }


async def calculate(session: AsyncSession, clock: Clock, rules: ProgramRules, body: Any) -> dict[str, Any]:
    now = clock.now()
    request = parse_receipt(body, now)
    member = await resolve_member(session, rules, request.member) if request.member else None
    at = request.purchased_at or now
    offer = await checkout.prepare(
        await session.connection(),
        store_id=request.store_id,
        at=at,
        member_id=member.id if member else None,
        tier_code=member.tier_code if member else None,
        promo_code=request.promo_code,
        asks=request.certificates,
        confirming=False,
        lines=request.lines,
    )
    pricing = price_receipt(rules, request, member, at, strict=False, offer=offer)
    after = None if member is None else member.available - pricing.applied + _accrued_now(rules, pricing, request, now)
    return pricing_view(rules, request, pricing, after, offer)


def _accrued_now(rules: ProgramRules, pricing: Pricing, request: ReceiptRequest, now: datetime) -> int:
    at = request.purchased_at or now
    return pricing.accrue if at + timedelta(hours=rules.pending_hours) <= now else 0


async def confirm(session: AsyncSession, clock: Clock, rules: ProgramRules, body: Any) -> tuple[dict[str, Any], bool]:
    """Confirm a receipt once: (answer, created). A retry returns the original answer.

    The till's hot path (see shared.receipt_ledger): the member is found, locked and their
    rolling spend read (and the request's API key checked) in one round trip, the receipt's
    earlier answer or the member's lots in a second, then every write at once."""
    now = clock.now()
    request = parse_receipt(body, now)
    at = request.purchased_at or now
    member, spend = None, 0
    lots: list[receipt_ledger.LotRow] = []
    conn = await session.connection()
    if request.member:
        column, key, missing = member_lookup(rules, request.member)
        # Retries of one receipt queue on this lock, so the read below sees the first one's commit.
        member, spend = await receipt_ledger.lock_member(
            conn, column, key, max(now, at), rules.tier_window_days, missing, apikeys.take_unchecked()
        )
        prior, lots = await receipt_ledger.prior_or_lots(conn, request.store_id, request.receipt_id, member.id)
        stored = _stored_or_conflict(prior, request) if prior is not None else None
    else:
        stored = await _stored_answer(conn, request)
    if stored is not None:
        return stored, False
    offer = await checkout.prepare(
        conn,
        store_id=request.store_id,
        at=at,
        member_id=member.id if member else None,
        tier_code=member.tier_code if member else None,
        promo_code=request.promo_code,
        asks=request.certificates,
        confirming=True,
        lines=request.lines,
        segments=member.segment_ids if member else None,
    )

    def price(o: Offer) -> Pricing:  # the till's MemberState carries every field price_receipt reads
        return price_receipt(rules, request, member, at, strict=True, offer=o)  # type: ignore[arg-type]

    pricing: Pricing = await checkout.claim(conn, offer, price)
    purchase_id = uuid.uuid4()
    answer: dict[str, Any] = {"purchase_id": str(purchase_id)}
    row = {
        "id": purchase_id,
        "store_id": request.store_id,
        "receipt_id": request.receipt_id,
        "member_id": member.id if member else None,
        "purchased_at": at,
        "created_at": now,
        "request_hash": request.body_hash,
        "total": pricing.total,
        "discount": pricing.discount,
        "redeemed": pricing.applied,
        "paid": pricing.payable,
        "accrued": pricing.accrue,
        "accrual_lot_id": None,
        "redeemed_expires_at": None,
        "refunded_amount": 0,
        "refunded_paid": 0,
        "points_reversed": 0,
        "points_restored": 0,
        "refunded_lines": {},
        "lines": [_line_record(line, d) for line, d in zip(request.lines, pricing.line_discount, strict=True)],
        "response": {},
    }
    if member is None:
        answer |= pricing_view(rules, request, pricing, None, offer)
        answer["balance"] = None
        row["response"] = answer
        if not await _claim_anonymous(session, conn, row):
            await checkout.unclaim(conn, offer)
            stored = await _stored_answer(conn, request)
            assert stored is not None
            return stored, False
        await checkout.record(conn, offer, pricing.certificates, None, purchase_id, now)
        return answer, True
    writes = receipt_ledger.Writes()
    events = []
    comment = f"receipt {request.receipt_id}"
    if pricing.applied:
        row["redeemed_expires_at"] = writes.spend(member, lots, pricing.applied, now, purchase_id, comment)
        events.append(
            event_row(
                EventKind.POINTS_REDEEMED,
                member.id,
                {
                    "points": pricing.applied,
                    "purchase_id": str(purchase_id),
                    "store_id": request.store_id,
                    "receipt_id": request.receipt_id,
                },
                now,
            )
        )
    if pricing.accrue:
        available_at = max(at + timedelta(hours=rules.pending_hours), now) if rules.pending_hours else now
        lot = writes.accrue(
            member,
            pricing.accrue,
            now,
            available_at,
            available_at + timedelta(days=rules.expiry_days),
            purchase_id,
            comment,
        )
        lots.append(lot)
        events.append(
            event_row(
                EventKind.POINTS_ACCRUED,
                member.id,
                {
                    "points": pricing.accrue,
                    "available_at": available_at.isoformat(),
                    "purchase_id": str(purchase_id),
                    "store_id": request.store_id,
                    "receipt_id": request.receipt_id,
                    "birthday": pricing.birthday,
                },
                now,
            )
        )
    if at > max(now, at) - timedelta(days=rules.tier_window_days):
        spend += pricing.payable
    earned = rules.tier_for_spend(spend)
    tier_changed = rules.tier_rank(earned.code) > rules.tier_rank(member.tier_code)
    if tier_changed:
        events.append(
            event_row(
                EventKind.TIER_CHANGED,
                member.id,
                {"from": member.tier_code, "to": earned.code, "reason": "purchase", "store_id": request.store_id},
                now,
            )
        )
        member.tier_code = earned.code
    member.last_purchase_at = max(member.last_purchase_at or at, at)
    answer |= pricing_view(rules, request, pricing, member.available, offer)
    answer["balance"] = balance_from_lots(rules, member, lots, spend, now)  # type: ignore[arg-type]
    row["response"] = answer
    await writes.flush(conn, member, tier_changed, now, row, events)
    await checkout.record(
        conn,
        offer,
        pricing.certificates,
        member.id,
        purchase_id,
        now,
        lines=request.lines,
        line_discount=pricing.line_discount,
    )
    return answer, True


_PURCHASES = Purchase.__table__
_STORED = select(_PURCHASES.c.id, _PURCHASES.c.request_hash, _PURCHASES.c.response).where(
    _PURCHASES.c.store_id == bindparam("store_id"), _PURCHASES.c.receipt_id == bindparam("receipt_id")
)


async def _claim_anonymous(session: AsyncSession, conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Insert an anonymous receipt unless a twin got there first (no member lock to queue on)."""
    try:
        async with session.begin_nested():
            await conn.execute(_PURCHASES.insert(), row)
    except IntegrityError:
        return False
    return True


def _line_record(line: Any, discount: int) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "name": line.name,
        "category": line.category,
        "quantity": str(line.quantity),
        "price": line.price,
        "amount": line.amount,
        "discount": discount,
    }


async def _stored_answer(conn: AsyncConnection, request: ReceiptRequest) -> dict[str, Any] | None:
    key = {"store_id": request.store_id, "receipt_id": request.receipt_id}
    found = (await conn.execute(_STORED, key)).one_or_none()
    return None if found is None else _stored_or_conflict(found, request)


def _stored_or_conflict(found: Any, request: ReceiptRequest) -> dict[str, Any]:
    """The original answer to a retry with the same body; 409 for a different body."""
    if found.request_hash != request.body_hash:
        raise Conflict(
            f"Receipt {request.receipt_id} of store {request.store_id} was already confirmed with a different body.",
            purchase_id=str(found.id),
        )
    return found.response  # type: ignore[no-any-return]


async def change_tier(session: AsyncSession, member: Member, code: str, now: datetime, reason: str) -> None:
    previous = member.tier_code
    member.tier_code = code
    member.tier_changed_at = now
    await emit(session, EventKind.TIER_CHANGED, member.id, {"from": previous, "to": code, "reason": reason}, now)


async def refund(
    session: AsyncSession, clock: Clock, rules: ProgramRules, store_id: str, receipt_id: str, body: Any
) -> tuple[dict[str, Any], bool]:
    """Refund part or all of a receipt; reversal and restoration are pro rata, rounded down per receipt."""
    now = clock.now()
    request = parse_refund(body)
    purchase = (
        await session.execute(select(Purchase).where(Purchase.store_id == store_id, Purchase.receipt_id == receipt_id))
    ).scalar_one_or_none()
    if purchase is None:
        raise NotFound(f"No confirmed receipt {receipt_id} in store {store_id}.")
    member = await ledger.lock_member(session, purchase.member_id) if purchase.member_id else None
    # Lock the receipt itself (an anonymous one has no member to queue on) and read it after the lock:
    # an earlier refund may have just committed. SQLite's writer lock serialises refunds already.
    await session.refresh(purchase, with_for_update=True)
    stored = await _stored_refund(session, purchase, request)
    if stored is not None:
        return stored, False
    value = _returned_value(purchase, request)
    refunded = purchase.refunded_amount + value
    whole = purchase.total - purchase.discount  # shares of what the receipt came to after discounts
    reversed_total = arithmetic.share_down(purchase.accrued, refunded, whole)
    restored_total = arithmetic.share_down(purchase.redeemed, refunded, whole)
    to_reverse = reversed_total - purchase.points_reversed
    to_restore = restored_total - purchase.points_restored
    purchase.refunded_amount = refunded
    purchase.refunded_paid = arithmetic.share_down(purchase.paid, refunded, whole)
    purchase.points_reversed = reversed_total
    purchase.points_restored = restored_total
    answer: dict[str, Any] = {
        "refund_id": request.refund_id,
        "points_reversed": to_reverse,
        "points_restored": to_restore,
        "balance": None,
    }
    answer |= await checkout.give_back(await session.connection(), purchase.id, refunded, whole, request.refund_id, now)
    if member is not None:
        comment = f"refund {request.refund_id} of receipt {receipt_id}"
        await ledger.reverse(session, member, to_reverse, now, purchase_id=purchase.id, comment=comment)
        if to_restore:
            expires_at = purchase.redeemed_expires_at or now + timedelta(days=rules.expiry_days)
            ledger.add_lot(
                session,
                member,
                kind="refund",
                source="restore",
                points=to_restore,
                now=now,
                available_at=now,
                expires_at=expires_at,
                purchase_id=purchase.id,
                comment=comment,
            )
        member.updated_at = now
        await emit(
            session,
            EventKind.PURCHASE_REFUNDED,
            member.id,
            {
                "refund_id": request.refund_id,
                "store_id": store_id,
                "receipt_id": receipt_id,
                "amount": value,
                "points_reversed": to_reverse,
                "points_restored": to_restore,
            },
            now,
        )
        answer["balance"] = await balance_view(session, rules, member, now)
    session.add(
        Refund(
            purchase_id=purchase.id,
            refund_id=request.refund_id,
            amount=value,
            points_reversed=to_reverse,
            points_restored=to_restore,
            request_hash=request.body_hash,
            response=answer,
            created_at=now,
        )
    )
    await session.flush()
    return answer, True


async def _stored_refund(session: AsyncSession, purchase: Purchase, request: RefundRequest) -> dict[str, Any] | None:
    found = (
        await session.execute(
            select(Refund).where(Refund.purchase_id == purchase.id, Refund.refund_id == request.refund_id)
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    if found.request_hash != request.body_hash:
        raise Conflict(f"Refund {request.refund_id} was already made with a different body.")
    return found.response


def _returned_value(purchase: Purchase, request: RefundRequest) -> int:
    left = purchase.total - purchase.discount - purchase.refunded_amount
    if request.amount is not None:
        if request.amount > left:
            raise InvalidInput(
                f"Only {left} of this receipt is left to refund.", [FieldError("amount", f"at most {left}")], max=left
            )
        return request.amount
    assert request.lines is not None
    bought: dict[str, Decimal] = defaultdict(Decimal)
    price: dict[str, Decimal] = {}
    net: dict[str, int] = defaultdict(int)
    for line in purchase.lines:
        bought[line["sku"]] += Decimal(line["quantity"])
        price.setdefault(line["sku"], Decimal(line["price"]))
        net[line["sku"]] += line["amount"] - line.get("discount", 0)
    for sku, paid in net.items():  # what one unit came to after discounts (the list price without them)
        gross = sum(Decimal(ln["amount"]) for ln in purchase.lines if ln["sku"] == sku)
        if paid != gross:
            price[sku] = Decimal(paid) / bought[sku]
    returned = _refunded_quantities(purchase)
    value = 0
    for i, (sku, qty) in enumerate(request.lines):
        if sku not in bought:
            raise InvalidInput(
                f"SKU {sku} is not on receipt {purchase.receipt_id}.",
                [FieldError(f"lines[{i}].sku", "not on this receipt")],
            )
        returned[sku] += qty
        if returned[sku] > bought[sku]:
            raise InvalidInput(
                f"More of {sku} refunded than was bought ({bought[sku]}).",
                [FieldError(f"lines[{i}].quantity", f"at most {bought[sku]} in all")],
            )
        value += int((price[sku] * qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    value = min(value, left)
    if value <= 0:
        raise InvalidInput("Nothing left to refund on this receipt.", [FieldError("lines", "already refunded")])
    purchase.refunded_lines = {sku: str(qty) for sku, qty in returned.items()}  # a new dict: tracked
    return value


def _refunded_quantities(purchase: Purchase) -> dict[str, Decimal]:
    done: dict[str, Decimal] = defaultdict(Decimal)
    for sku, qty in (purchase.refunded_lines or {}).items():
        done[sku] = Decimal(qty)
    return done
