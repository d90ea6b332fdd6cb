"""Member bodies of API.md: registration in; Member, Balance and the ledger page out."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from shared.inputs import MAX_ZONE
from shared.vocabulary import CHANNELS, LANGUAGES, REGISTRATION_SOURCES
from webapp.api.schemas.fields import E164, Day, Ean13, Id, Moment, Points, Url, Uuid

Name = Annotated[str, Meta(max_length=100)]
Channel = Literal[REGISTRATION_SOURCES]  # type: ignore[valid-type]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
Consents = Annotated[
    dict[str, bool],
    Meta(description=f"delivery channel -> consent given; channels: {', '.join(CHANNELS)}", max_length=len(CHANNELS)),
]


class Registration(Struct, kw_only=True):
    """Only `phone` is required; it is accepted in any usual form and stored in E.164."""

    phone: Annotated[str, Meta(min_length=1, max_length=64, examples=["+79123456789", "8 (912) 345-67-89"])]
    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[str, Meta(max_length=254, extra_json_schema={"extra": {"format": "email"}})] | None = None
    birth_date: Day | None = None
    channel: Annotated[Channel, Meta(description="where the member signs up (default api)")] | None = None
    store_id: Id | None = None
    source: Annotated[str, Meta(max_length=128, description="tag of the link or QR code that brought them")] | None = (
        None
    )
    time_zone: Annotated[str, Meta(max_length=MAX_ZONE, examples=["Europe/Moscow"])] | None = None
    language: Language | None = None
    consents: Consents | None = None


class NextTier(Struct):
    code: str
    name: str
    spend_needed: Annotated[int, Meta(ge=0, description="paid spend still needed, minor units")]


class TierProgress(Struct):
    code: str
    name: str
    accrual_percent: Annotated[int, Meta(ge=0, le=100)]
    next: NextTier | None


class ExpiringLot(Struct):
    points: Points
    expires_at: Moment


class Balance(Struct):
    available: Points
    pending: Points
    expiring: list[ExpiringLot]
    tier: TierProgress


class TierName(Struct):
    code: str
    name: str


class WalletLinks(Struct):
    apple_url: Url
    google_url: Url


class Member(Struct):
    id: Uuid
    phone: E164
    card_number: Ean13
    first_name: str | None
    last_name: str | None
    email: str | None
    birth_date: Day | None
    created_at: Moment
    tier: TierName
    balance: Balance
    wallet: WalletLinks


class PartnerRef(Struct):
    code: str
    name: str


class PurchaseRef(Struct):
    store_id: str
    receipt_id: str
    store_name: Annotated[str | None, Meta(description="the store's name; null for a store the program does not know")]
    partner: Annotated[PartnerRef | None, Meta(description="the coalition partner the store belongs to; null: ours")]


class Transaction(Struct):
    id: str
    kind: Literal["accrual", "redemption", "expiry", "refund", "bonus", "adjustment"]
    points: Annotated[Points, Meta(description="signed: spent and burnt points are negative")]
    created_at: Moment
    available_at: Moment | None
    expires_at: Moment | None
    purchase: PurchaseRef | None
    comment: str | None


class TransactionPage(Struct):
    items: list[Transaction]
    next_cursor: str | None


__all__ = ["Balance", "Member", "Registration", "TransactionPage"]
