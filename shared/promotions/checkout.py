"""Promotions at the till: what a receipt is offered (prepare), the uses a confirm takes exactly
once (claim, record) and what a refund gives back. Pricing itself is pure (engine)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import partner_rates
from shared.db.models.promotions import Promotion, PromotionUse
from shared.errors import FieldError, InvalidInput
from shared.offers.personal import TillOffer, offers_at_till, record_redemptions
from shared.promotions import certificates, codes
from shared.promotions.catalog import active_catalog, segments_of
from shared.promotions.engine import Touches, eligible, relevant
from shared.promotions.terms import PERSONAL, PromotionTerms, Shopper

P, PU = Promotion.__table__, PromotionUse.__table__
_USES = select(P.c.id, P.c.uses).where(P.c.id.in_(bindparam("ids", expanding=True)))
_MEMBER_USES = (
    select(PU.c.promotion_id, func.count())
    .where(PU.c.promotion_id.in_(bindparam("ids", expanding=True)), PU.c.member_id == bindparam("member_id"))
    .group_by(PU.c.promotion_id)
)
_CLAIM = (
    update(P)
    .where(P.c.id == bindparam("pid"), or_(P.c.max_uses.is_(None), P.c.uses < P.c.max_uses))
    .values(uses=P.c.uses + 1)
)
_RELEASE = update(P).where(P.c.id == bindparam("pid"), P.c.uses > 0).values(uses=P.c.uses - 1)


class CertificateAsk(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def amount(self) -> int | None: ...


class Priced(Protocol):
    touches: Touches


@dataclass
class Offer:
    """Everything promotional a receipt may get, gathered before pricing."""

    promotions: list[PromotionTerms] = field(default_factory=list)
    code_text: str | None = None
    code: codes.FoundCode | None = None
    code_reason: str | None = None
    certificates: list[tuple[CertificateAsk, certificates.HeldCertificate]] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)
    personal: list[TillOffer] = field(default_factory=list)  # the member's offers, held ones too
    partner: str | None = None  # the coalition partner whose store this is (shared.partner_rates)
    earn_percent: int | None = None  # that partner's earn rate there; None: the member's tier rate
    _all: list[PromotionTerms] = field(default_factory=list)
    _context: tuple[Any, ...] = ()

    def exclude(self, ids: set[int]) -> None:
        self.excluded |= ids
        self.promotions = [p for p in self.promotions if p.id not in self.excluded]

    def code_view(self, touches: Touches | None) -> dict[str, Any] | None:
        if self.code_text is None:
            return None
        reason = self.code_reason
        if reason is None and (touches is None or self.code is None or self.code.promotion_id not in touches.totals):
            reason = codes.NOTHING
        return {"code": self.code_text, "applied": reason is None, "reason": reason}


NO_OFFER = Offer()


async def prepare(
    conn: AsyncConnection,
    *,
    store_id: str,
    at: datetime,
    member_id: uuid.UUID | None,
    tier_code: str | None,
    promo_code: str | None,
    asks: tuple[CertificateAsk, ...],
    confirming: bool,
    lines: Sequence[Any] = (),
    segments: frozenset[int] | None = None,
) -> Offer:
    """`segments`: the member's segments when the caller read them already (confirm's member lock)."""
    catalog = await active_catalog(conn)
    partner, earn_percent = await partner_rates.at_store(conn, store_id, at)
    offer = Offer(code_text=promo_code, partner=partner, earn_percent=earn_percent)
    running = [p for p in catalog.promotions if p.runs_at(at) and (not p.store_ids or store_id in p.store_ids)]
    personal = [p for p in running if p.kind == PERSONAL]
    if personal:  # each member's own item: one indexed read, only while a personal promotion runs
        running = [p for p in running if p.kind != PERSONAL]
        if member_id is not None:
            offer.personal = await offers_at_till(conn, member_id, personal, at)
            running += [o.terms for o in offer.personal if not o.held]
    if lines:
        running = relevant(running, lines)
    if member_id is None:
        segments = frozenset()
    elif segments is None:
        segments = await segments_of(conn, member_id, (s for p in running for s in p.segment_ids))
    shopper = Shopper(tier_code, segments)
    unlocked: frozenset[int] = frozenset()
    if promo_code is not None:
        offer.code, offer.code_reason = await _check_code(
            conn, catalog.by_id, promo_code, store_id, at, shopper, member_id
        )
        if offer.code_reason is None and offer.code is not None:
            unlocked = frozenset({offer.code.promotion_id})
    candidates = eligible(running, store_id, at, shopper, unlocked)
    offer.excluded = await _at_limit(conn, [p for p in candidates if p.limited], member_id)
    if offer.code is not None and offer.code.promotion_id in offer.excluded and offer.code_reason is None:
        offer.code_reason = codes.LIMIT
    offer.promotions = [p for p in candidates if p.id not in offer.excluded]
    for ask in asks:
        offer.certificates.append((ask, await certificates.hold(conn, ask.number, at, lock=confirming)))
    return offer


async def _check_code(
    conn: AsyncConnection,
    by_id: dict[int, PromotionTerms],
    text: str,
    store_id: str,
    at: datetime,
    shopper: Shopper,
    member_id: uuid.UUID | None,
) -> tuple[codes.FoundCode | None, str | None]:
    found = await codes.find_code(conn, text)
    if found is None:
        return None, codes.UNKNOWN
    terms = by_id.get(found.promotion_id)
    if terms is None:
        return found, codes.NOT_ACTIVE
    if terms.starts_at is not None and at < terms.starts_at:
        return found, codes.NOT_STARTED
    if terms.ends_at is not None and at >= terms.ends_at:
        return found, codes.EXPIRED
    if (terms.store_ids and store_id not in terms.store_ids) or not terms.targets(store_id, shopper):
        return found, codes.NEEDS_MEMBER if shopper.tier_code is None and (
            terms.tier_codes or terms.segment_ids
        ) else codes.NOT_HERE
    return found, codes.exhausted_reason(found) or await codes.member_reason(conn, found, member_id)


async def _at_limit(conn: AsyncConnection, limited: list[PromotionTerms], member_id: uuid.UUID | None) -> set[int]:
    if not limited:
        return set()
    ids = [p.id for p in limited]
    uses = dict((await conn.execute(_USES, {"ids": ids})).all())
    mine: dict[int, int] = {}
    if member_id is not None and any(p.max_uses_per_member for p in limited):
        mine = dict((await conn.execute(_MEMBER_USES, {"ids": ids, "member_id": member_id})).all())
    out = set()
    for p in limited:
        if p.max_uses is not None and uses.get(p.id, 0) >= p.max_uses:
            out.add(p.id)
        if p.max_uses_per_member is not None and (member_id is None or mine.get(p.id, 0) >= p.max_uses_per_member):
            out.add(p.id)
    return out


def pay_with_certificates(offer: Offer, due: int, strict: bool) -> tuple[int, list[dict[str, Any]]]:
    """Certificates pay what is left after discounts and points, in the order given."""
    left, views = due, []
    for index, (ask, held) in enumerate(offer.certificates):
        where = f"certificates[{index}]"
        if held.reason is not None:
            if strict:
                raise InvalidInput(
                    f"Certificate {ask.number} cannot pay: {held.reason}.", [FieldError(f"{where}.number", held.reason)]
                )
            views.append(
                {"number": ask.number, "requested": ask.amount, "applied": 0, "balance": 0, "reason": held.reason}
            )
            continue
        wanted = held.balance if ask.amount is None else ask.amount
        if strict and wanted > held.balance:
            raise InvalidInput(
                f"Certificate {ask.number} has {held.balance} left.",
                [FieldError(f"{where}.amount", f"at most {held.balance}")],
                max=held.balance,
            )
        if strict and ask.amount is not None and wanted > left:
            raise InvalidInput(
                f"Only {left} is left to pay on this receipt.",
                [FieldError(f"{where}.amount", f"at most {left}")],
                max=left,
            )
        applied = min(wanted, held.balance, left)
        left -= applied
        reason = None if applied == wanted or ask.amount is None else "more than the certificate or the receipt"
        views.append(
            {
                "number": held.number,
                "requested": ask.amount,
                "applied": applied,
                "balance": held.balance - applied,
                "reason": reason,
            }
        )
    return due - left, views


async def claim(conn: AsyncConnection, offer: Offer, price: Callable[[Offer], Priced]) -> Any:
    """Price, then take the limited uses the pricing relies on; whatever another till took first
    is dropped and the receipt priced again, so every use is taken by exactly one receipt."""
    claimed: set[int] = set()
    code_taken = False
    while True:
        pricing = price(offer)
        applied = set(pricing.touches.totals)
        lost: set[int] = set()
        if (
            offer.code is not None
            and offer.code_reason is None
            and offer.code.promotion_id in applied
            and not code_taken
        ):
            offer.code_reason = await codes.claim_code(conn, offer.code)
            code_taken = offer.code_reason is None
            if not code_taken:
                lost.add(offer.code.promotion_id)
        for terms in offer.promotions:
            if terms.limited and terms.id in applied and terms.id not in claimed:
                if (await conn.execute(_CLAIM, {"pid": terms.id})).rowcount == 1:
                    claimed.add(terms.id)
                else:
                    lost.add(terms.id)
        for pid in claimed - applied - lost:
            await conn.execute(_RELEASE, {"pid": pid})
            claimed.discard(pid)
        if code_taken and offer.code is not None and offer.code.promotion_id not in applied:
            await codes.unclaim_code(conn, offer.code)
            code_taken = False
        if not lost:
            offer._context = (claimed, code_taken)
            return pricing
        offer.exclude(lost)


async def unclaim(conn: AsyncConnection, offer: Offer) -> None:
    """Give back what claim took (a twin receipt was confirmed first)."""
    claimed, code_taken = offer._context or (set(), False)
    for pid in claimed:
        await conn.execute(_RELEASE, {"pid": pid})
    if code_taken and offer.code is not None:
        await codes.unclaim_code(conn, offer.code)
    offer._context = (set(), False)


async def record(
    conn: AsyncConnection,
    offer: Offer,
    certificate_views: list[dict[str, Any]],
    member_id: uuid.UUID | None,
    purchase_id: uuid.UUID,
    now: datetime,
    lines: Sequence[Any] = (),
    line_discount: Sequence[int] = (),
) -> None:
    """After the purchase row exists: the uses it took, the certificates it drew on and the
    member's personal offers whose item it holds (`lines` and their discounts)."""
    claimed, code_taken = offer._context or (set(), False)
    if offer.personal and lines:
        await record_redemptions(conn, offer.personal, lines, line_discount, purchase_id, now)
    if code_taken and offer.code is not None:
        await codes.record_use(conn, offer.code, member_id, purchase_id, now)
    if claimed:
        await conn.execute(
            PU.insert(),
            [
                {"promotion_id": pid, "member_id": member_id, "purchase_id": purchase_id, "created_at": now}
                for pid in sorted(claimed)
            ],
        )
    for (ask, held), view in zip(offer.certificates, certificate_views, strict=True):
        if view["applied"] and not await certificates.debit(conn, held, view["applied"], purchase_id, now):
            raise InvalidInput(
                f"Certificate {ask.number} no longer has {view['applied']}.",
                [FieldError("certificates", "balance changed; calculate again")],
            )


async def give_back(
    conn: AsyncConnection, purchase_id: uuid.UUID, refunded: int, whole: int, refund_id: str, now: datetime
) -> dict[str, Any]:
    """A refund returns certificates' share; a full refund also frees the code and promotion uses."""
    answer: dict[str, Any] = {
        "certificates": await certificates.restore(conn, purchase_id, refunded, whole, refund_id, now)
    }
    if refunded >= whole:
        answer["promo_codes_released"] = await codes.release_uses(conn, purchase_id)
        used = (await conn.execute(select(PU.c.promotion_id).where(PU.c.purchase_id == purchase_id))).scalars().all()
        for pid in used:
            await conn.execute(_RELEASE, {"pid": pid})
        await conn.execute(delete(PU).where(PU.c.purchase_id == purchase_id))
    return answer
