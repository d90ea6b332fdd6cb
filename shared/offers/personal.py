"""Personal offers: a "personal" promotion gives each member their own item (their top
recommendation when the offer is issued) with the promotion's boost for `offer_days`.

Issuing is one INSERT ... SELECT per kind (categories first, then SKUs for members without a
category), idempotent per member and promotion. At the till the member's offers are read by one
indexed statement, only when a personal promotion runs (checkout.prepare), and become ordinary
PromotionTerms for the engine; receipts holding an offer's item are recorded on the offer
(redemption and revenue), for held (control group) offers too, which are never priced or shown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_date
from sqlalchemy import Select, bindparam, exists, false, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared import i18n
from shared.db.models import Member, SegmentMember
from shared.db.models.offers import MemberRecommendation, PersonalOffer
from shared.db.models.promotions import Promotion
from shared.errors import FieldError, InvalidInput
from shared.program import ProgramRules
from shared.promotions.terms import PERSONAL, PromotionTerms

PO, MR, PR = PersonalOffer.__table__, MemberRecommendation.__table__, Promotion.__table__
SKU, CATEGORY = "sku", "category"
ISSUE_ORDER = (CATEGORY, SKU)  # a member's top category when they have one, else their top SKU
CONTEXT = "offers"  # the catalogue's part for offer texts (shared/locales)
Audience = Select[uuid.UUID, bool]  # who gets offers: member_id, and held (a control group's member)


@dataclass(frozen=True)
class TillOffer:
    """One of the member's offers valid at the receipt's time, as the till reads it."""

    id: int
    kind: str
    item: str
    held: bool
    terms: PromotionTerms

    def matches(self, sku: str, category: str | None) -> bool:
        return self.item == (sku if self.kind == SKU else category)


_AT_TILL = select(
    PO.c.id, PO.c.promotion_id, PO.c.kind, PO.c.item, PO.c.multiplier, PO.c.extra_percent, PO.c.held
).where(
    PO.c.member_id == bindparam("member_id"),
    PO.c.promotion_id.in_(bindparam("ids", expanding=True)),
    PO.c.valid_from <= bindparam("at", type_=PO.c.valid_from.type),
    PO.c.valid_to > bindparam("at", type_=PO.c.valid_to.type),
)
_REDEEMED = (
    update(PO)
    .where(PO.c.id == bindparam("offer_id"))
    .values(
        redeemed_at=func.coalesce(PO.c.redeemed_at, bindparam("at", type_=PO.c.redeemed_at.type)),
        purchase_id=func.coalesce(PO.c.purchase_id, bindparam("pid", type_=PO.c.purchase_id.type)),
        receipts=PO.c.receipts + 1,
        revenue=PO.c.revenue + bindparam("value", type_=PO.c.revenue.type),
    )
)


def offer_terms(base: PromotionTerms, kind: str, item: str, multiplier: int, extra_percent: int) -> PromotionTerms:
    """The promotion narrowed to one member's item, with the boost the offer was issued with."""
    items = frozenset({item})
    return replace(
        base,
        name=f"{base.name}: {item}",
        skus=items if kind == SKU else frozenset(),
        categories=items if kind == CATEGORY else frozenset(),
        multiplier=multiplier,
        extra_percent=extra_percent,
        points=0,
    )


async def offers_at_till(
    conn: AsyncConnection, member_id: uuid.UUID, promotions: Sequence[PromotionTerms], at: datetime
) -> list[TillOffer]:
    """The member's offers under these running personal promotions, valid at `at` (one indexed read)."""
    by_id = {p.id: p for p in promotions}
    rows = await conn.execute(_AT_TILL, {"member_id": member_id, "ids": sorted(by_id), "at": at})
    return [
        TillOffer(row.id, row.kind, row.item, row.held, offer_terms(by_id[row.promotion_id], *row[2:6])) for row in rows
    ]


async def record_redemptions(
    conn: AsyncConnection,
    offers: Sequence[TillOffer],
    lines: Sequence[Any],
    line_discount: Sequence[int],
    purchase_id: uuid.UUID,
    at: datetime,
) -> None:
    """Each offer whose item is on the receipt: the first receipt, the count and the revenue (the
    lines' amounts after discounts). Held offers too: that is what the control group would have done."""
    rows = []
    for offer in offers:
        matched = [
            line.amount - cut
            for line, cut in zip(lines, line_discount, strict=True)
            if offer.matches(line.sku, line.category)
        ]
        if matched:
            rows.append({"offer_id": offer.id, "at": at, "pid": purchase_id, "value": sum(matched)})
    if rows:
        await conn.execute(_REDEEMED, rows)


async def _personal_promotion(session: AsyncSession, promotion_id: int) -> Promotion:
    promotion = await session.get(Promotion, promotion_id)
    if promotion is None or promotion.kind != PERSONAL:
        raise InvalidInput(
            "Offers are issued under a personal promotion.",
            [FieldError("promotion_id", f"no personal promotion {promotion_id}")],
        )
    if not promotion.active:
        raise InvalidInput(
            "The promotion is switched off.", [FieldError("promotion_id", "activate the promotion first")]
        )
    return promotion


def window(promotion: Promotion, now: datetime) -> tuple[datetime, datetime]:
    """An offer issued now runs from now (or the promotion's start) for offer_days, within the promotion."""
    start = max(now, promotion.starts_at) if promotion.starts_at else now
    end = start + timedelta(days=promotion.offer_days)
    if promotion.ends_at is not None:
        end = min(end, promotion.ends_at)
    return start, end


async def issue_offers(
    session: AsyncSession,
    promotion_id: int,
    audience: Audience,
    now: datetime,
    campaign_id: int | None = None,
) -> int:
    """Issue offers to an audience (a SELECT of member_id and held) in the caller's transaction;
    members who have an offer under this promotion, or no recommendation, are skipped. Returns
    how many were issued now: running it again issues none."""
    promotion = await _personal_promotion(session, promotion_id)
    start, end = window(promotion, now)
    if end <= start:
        raise InvalidInput("The promotion has ended.", [FieldError("promotion_id", "its end is past")])
    who = audience.subquery("audience")
    issued = 0
    for kind in ISSUE_ORDER:
        rows = (
            select(
                MR.c.member_id,
                literal(promotion.id, PO.c.promotion_id.type),
                literal(campaign_id, PO.c.campaign_id.type),
                MR.c.kind,
                MR.c.item,
                literal(promotion.multiplier, PO.c.multiplier.type),
                literal(promotion.extra_percent, PO.c.extra_percent.type),
                who.c.held,
                literal(start, PO.c.valid_from.type),
                literal(end, PO.c.valid_to.type),
                literal(now, PO.c.issued_at.type),
                literal(0, PO.c.receipts.type),
                literal(0, PO.c.revenue.type),
            )
            .join(who, who.c.member_id == MR.c.member_id)
            .where(
                MR.c.kind == kind,
                MR.c.rank == 1,
                ~exists().where(PO.c.member_id == MR.c.member_id, PO.c.promotion_id == promotion.id),
            )
        )
        columns = [
            "member_id",
            "promotion_id",
            "campaign_id",
            "kind",
            "item",
            "multiplier",
            "extra_percent",
            "held",
            "valid_from",
            "valid_to",
            "issued_at",
            "receipts",
            "revenue",
        ]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(PO).from_select(columns, rows).on_conflict_do_nothing()
        issued += (await session.execute(stmt)).rowcount  # type: ignore[attr-defined]
    return issued


def segment_audience(segment_id: int) -> Audience:
    """Every member of a segment's snapshot, none held."""
    return select(SegmentMember.member_id.label("member_id"), false().label("held")).where(
        SegmentMember.segment_id == segment_id
    )


def member_audience(member_id: uuid.UUID) -> Audience:
    return select(Member.id.label("member_id"), false().label("held")).where(Member.id == member_id)


@dataclass(frozen=True)
class OfferView:
    """A member's current offer, as the till, the cabinet, the bot and campaign texts show it."""

    id: int
    promotion_id: int
    promotion: str
    kind: str
    item: str
    multiplier: int
    extra_percent: int
    valid_from: datetime
    valid_to: datetime
    redeemed_at: datetime | None


def _view(row: Any) -> OfferView:
    return OfferView(
        row.id,
        row.promotion_id,
        row.name,
        row.kind,
        row.item,
        row.multiplier,
        row.extra_percent,
        row.valid_from,
        row.valid_to,
        row.redeemed_at,
    )


_SHOWN = select(PO, PR.c.name).join(PR, PR.c.id == PO.c.promotion_id).where(PO.c.held.is_(False))


async def current_offers(
    session: AsyncSession, member_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[OfferView]]:
    """Each member's offers valid now under active personal promotions (held ones never), soonest ending first."""
    if not member_ids:
        return {}
    rows = await session.execute(
        _SHOWN.where(
            PO.c.member_id.in_(list(member_ids)),
            PO.c.valid_from <= now,
            PO.c.valid_to > now,
            PR.c.active.is_(True),
            PR.c.kind == PERSONAL,
        ).order_by(PO.c.valid_to, PO.c.id)
    )
    out: dict[uuid.UUID, list[OfferView]] = {m: [] for m in member_ids}
    for row in rows:
        out[row.member_id].append(_view(row))
    return out


async def offers_under(
    session: AsyncSession, promotion_id: int, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OfferView]:
    """The offer each of these members holds under one promotion (a campaign's `{{ offer }}`)."""
    if not member_ids:
        return {}
    rows = await session.execute(_SHOWN.where(PO.c.promotion_id == promotion_id, PO.c.member_id.in_(list(member_ids))))
    return {row.member_id: _view(row) for row in rows}


async def offers_of(session: AsyncSession, member_id: uuid.UUID, now: datetime) -> list[OfferView]:
    return (await current_offers(session, [member_id], now))[member_id]


def boost_text(offer: OfferView, language: str) -> str:
    parts = []
    if offer.multiplier:
        parts.append(i18n.text(language, CONTEXT, "multiplier", n=offer.multiplier))
    if offer.extra_percent:
        parts.append(i18n.text(language, CONTEXT, "extra_percent", n=offer.extra_percent))
    return " ".join(parts)


def offer_text(offer: OfferView, rules: ProgramRules, language: str) -> str:
    """ "×2 баллов на категорию «coffee» до 22 декабря": the last day in the program's time zone."""
    last_day = (offer.valid_to - timedelta(microseconds=1)).astimezone(rules.zone).date()
    until = format_date(last_day, format="d MMMM", locale=language if language in i18n.LANGUAGES else "ru")
    return i18n.text(language, CONTEXT, offer.kind, boost=boost_text(offer, language), item=offer.item, until=until)
