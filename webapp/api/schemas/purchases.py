"""Purchase bodies of API.md: a receipt and a refund in; the calculation, the confirmation and the refund out.

Members the contract added after v1's first page (promotions, promo codes, certificates) are optional in the
answers: a receipt confirmed before they existed is replayed exactly as it was first answered."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from shared.receipts import MAX_LINES, MAX_MONEY
from webapp.api.schemas.fields import Id, Moment, Money, Points, Uuid
from webapp.api.schemas.members import Balance

Quantity = Annotated[
    int | float | str,
    Meta(description="greater than 0, at most 1,000,000, at most 3 decimals", examples=[1, 0.25]),
]
Redeem = Annotated[int, Meta(ge=0, le=MAX_MONEY)] | Literal["max"]


class MemberRef(Struct, kw_only=True):
    """Exactly one of phone, card_number or member_id."""

    phone: Annotated[str, Meta(max_length=64)] | None = None
    card_number: Annotated[str, Meta(max_length=64)] | None = None
    member_id: Annotated[str, Meta(max_length=64)] | None = None


class ReceiptLine(Struct, kw_only=True):
    sku: Id
    name: Annotated[str, Meta(max_length=200)] | None = None
    category: Id | None = None
    quantity: Quantity
    price: Money
    amount: Annotated[int, Meta(ge=0, le=MAX_MONEY, description="price × quantity, rounded to a minor unit")]


class CertificateAsk(Struct, kw_only=True):
    number: Id
    amount: Annotated[int, Meta(ge=1, le=MAX_MONEY, description="omitted: as much as it can pay")] | None = None


class Receipt(Struct, kw_only=True):
    store_id: Id
    receipt_id: Id
    purchased_at: Moment | None = None
    member: MemberRef | None = None
    lines: Annotated[list[ReceiptLine], Meta(min_length=1, max_length=MAX_LINES)]
    redeem: Redeem | None = 0  # points to spend, or "max" for the most allowed
    promo_code: Annotated[str, Meta(max_length=64)] | None = None
    certificates: Annotated[list[CertificateAsk], Meta(max_length=10)] | None = None


class RefundLine(Struct, kw_only=True):
    sku: Id
    quantity: Quantity


class RefundBody(Struct, kw_only=True):
    """Either `lines` or `amount` (the goods value returned, in the same terms as the lines' `amount`)."""

    refund_id: Id
    lines: Annotated[list[RefundLine], Meta(min_length=1, max_length=MAX_LINES)] | None = None
    amount: Annotated[int, Meta(ge=1, le=MAX_MONEY)] | None = None


class RedeemView(Struct):
    requested: int | Literal["max"]
    applied: Points
    max: Points


class PromotionTouch(Struct, kw_only=True):
    id: int
    name: str
    kind: str
    discount: int | UnsetType = UNSET
    points: int | UnsetType = UNSET


class PromotionTotal(Struct):
    id: int
    name: str
    kind: str
    discount: int
    points: int


class LineView(Struct, kw_only=True):
    sku: str
    amount: int
    discount: int
    redeem: int
    accrue: int
    certificate: int | UnsetType = UNSET
    promotions: list[PromotionTouch] | UnsetType = UNSET


class PromoCodeView(Struct):
    code: str
    applied: bool
    reason: str | None


class CertificatePayment(Struct):
    number: str
    requested: int | None
    applied: int
    balance: int
    reason: str | None


class Calculation(Struct, kw_only=True):
    total: int
    discount: int
    redeem: RedeemView
    accrue: int
    accrual_percent: int | float | UnsetType = UNSET
    payable: int
    lines: list[LineView]
    promotions: list[PromotionTotal] | UnsetType = UNSET
    promo_code: PromoCodeView | UnsetType | None = UNSET
    certificates: list[CertificatePayment] | UnsetType = UNSET
    receipt_text: list[str]


class Confirmation(Calculation, kw_only=True):
    purchase_id: Uuid
    balance: Balance | None  # null for an anonymous receipt


class CertificateRestored(Struct):
    number: str
    amount: int


class RefundResult(Struct, kw_only=True):
    refund_id: str
    points_reversed: int
    points_restored: int
    balance: Balance | None
    certificates: list[CertificateRestored] | UnsetType = UNSET
    promo_codes_released: list[str] | UnsetType = UNSET
