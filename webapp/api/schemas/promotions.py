"""Marketing bodies (staff keys): promotions, promo-code batches, gift certificates, bonus grants.
The bounds are the core's constants; the core checks them and words the messages."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from shared.promotions.certificates import MAX_AMOUNT
from shared.promotions.codes import MAX_BATCH
from shared.promotions.definitions import MAX_INT, NUMBERS
from shared.promotions.grants import MAX_LIST
from shared.promotions.terms import KINDS
from webapp.api.schemas.fields import Id, Moment

Kind = Literal[KINDS]  # type: ignore[valid-type]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Ids = Annotated[list[Id], Meta(max_length=1000)]
SegmentIds = Annotated[list[Annotated[int, Meta(ge=1, le=MAX_INT)]], Meta(max_length=1000)]
Limit = Annotated[int, Meta(ge=1, le=MAX_INT)]


def _bounds(key: str, description: str) -> Meta:
    low, high = NUMBERS[key]
    return Meta(ge=low, le=high, description=description)


Priority = Annotated[int, _bounds("priority", "higher applies first")]
MinTotal = Annotated[int, _bounds("min_total", "kopecks, the receipt before discounts")]
Percent = Annotated[int, _bounds("percent", "percent off (discount, bundle)")]
Amount = Annotated[int, _bounds("amount", "kopecks off (discount)")]
Multiplier = Annotated[int, _bounds("multiplier", "accrual multiplier")]
ExtraPercent = Annotated[int, _bounds("extra_percent", "extra accrual percent")]
FixedPoints = Annotated[int, _bounds("points", "fixed points per matching line")]
OfferDays = Annotated[int, _bounds("offer_days", "personal: how many days each member's offer lasts")]


class PromotionChange(Struct, kw_only=True, forbid_unknown_fields=True):
    """Any fields of a promotion; the rest stay as they are."""

    name: Name | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    combinable: bool | UnsetType = UNSET
    code_only: bool | UnsetType = UNSET
    starts_at: Moment | UnsetType | None = UNSET
    ends_at: Moment | UnsetType | None = UNSET
    store_ids: Ids | UnsetType = UNSET
    tier_codes: Ids | UnsetType = UNSET
    segment_ids: SegmentIds | UnsetType = UNSET
    skus: Ids | UnsetType = UNSET
    categories: Ids | UnsetType = UNSET
    with_skus: Ids | UnsetType = UNSET
    with_categories: Ids | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    min_total: MinTotal | UnsetType = UNSET
    percent: Percent | UnsetType = UNSET
    amount: Amount | UnsetType = UNSET
    multiplier: Multiplier | UnsetType = UNSET
    extra_percent: ExtraPercent | UnsetType = UNSET
    points: FixedPoints | UnsetType = UNSET
    max_uses: Limit | UnsetType | None = UNSET
    max_uses_per_member: Limit | UnsetType | None = UNSET
    offer_days: OfferDays | UnsetType = UNSET


class PromotionBody(PromotionChange, kw_only=True, forbid_unknown_fields=True):
    """A new promotion: `name` and `kind` are required."""

    name: Name
    kind: Kind


class CodeBatchCount(Struct):
    id: int
    name: str
    kind: str
    count: int
    used: int


class Promotion(Struct, kw_only=True):
    id: int
    name: str
    kind: str
    active: bool
    combinable: bool
    code_only: bool
    starts_at: Moment | None
    ends_at: Moment | None
    max_uses: int | None
    max_uses_per_member: int | None
    store_ids: list[str]
    tier_codes: list[str]
    segment_ids: list[int]
    skus: list[str]
    categories: list[str]
    with_skus: list[str]
    with_categories: list[str]
    priority: int
    min_total: int
    percent: int
    amount: int
    multiplier: int
    extra_percent: int
    points: int
    offer_days: int
    uses: int
    created_at: Moment
    updated_at: Moment
    code_batches: list[CodeBatchCount] | UnsetType = UNSET  # only when one promotion is read


class PromotionList(Struct):
    items: list[Promotion]


class OfferIssue(Struct, kw_only=True, forbid_unknown_fields=True):
    """Issue a personal promotion's offers to every member of a segment who has a recommendation."""

    segment_id: Annotated[int, Meta(ge=1, le=MAX_INT)]


class OffersIssued(Struct):
    issued: Annotated[int, Meta(description="offers issued now (members who had one are skipped)")]


class CodeBatchBody(Struct, kw_only=True):
    """kind "unique": `count` generated single-use codes (optional `prefix`); kind "shared": one `code`."""

    kind: Literal["unique", "shared"] = "unique"
    count: Annotated[int, Meta(ge=1, le=MAX_BATCH)] | None = None
    prefix: Annotated[str, Meta(max_length=16, pattern="^[A-Za-z0-9-]*$")] | None = None
    code: Annotated[str, Meta(max_length=64)] | None = None
    name: Name | None = None
    total_limit: Limit | None = None
    per_member_limit: Limit | None = None


class CodeBatch(Struct):
    id: int
    promotion_id: int
    name: str
    kind: str
    count: int
    total_limit: int | None
    per_member_limit: int | None
    used: int
    created_at: Moment


class CertificateIssue(Struct, kw_only=True):
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="kopecks")]
    count: Annotated[int, Meta(ge=1, le=10_000)] = 1
    expires_at: Moment | None = None


class CertificateOperation(Struct):
    kind: str
    amount: int
    created_at: Moment
    purchase_id: str | None
    refund_id: str | None


class Certificate(Struct):
    number: str
    initial: int
    balance: int
    active: bool
    usable: bool
    expires_at: Moment | None
    created_at: Moment
    operations: list[CertificateOperation]


class CertificateList(Struct):
    items: list[Certificate]


class GrantBody(Struct, kw_only=True):
    """Points for a segment (`segment_id`) or a list (`members`: ids, phones or card numbers)."""

    name: Name
    points: Annotated[int, Meta(ge=1, le=10**7)]
    expires_at: Moment | None = None
    expires_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    segment_id: Limit | None = None
    members: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(min_length=1, max_length=MAX_LIST)] | None = None


class Grant(Struct):
    id: int
    name: str
    points: int
    expires_at: Moment | None
    expires_days: int | None
    segment_id: int | None
    members: int
    status: str
    granted: int
    skipped: list[str]
    created_at: Moment
    finished_at: Moment | None
