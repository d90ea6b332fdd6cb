"""Request bodies as the OpenAPI document shows them: the typed Struct with its examples. The POS bodies
are decoded into their Structs (webapp.api.schemas); the core still checks and words every field message
(webapp.api.bodies).
The staff bodies' Structs are in webapp.api.schemas.promotions."""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.spec import Example
from litestar.params import Body

from webapp.api import schemas
from webapp.api.schemas import promotions

MEMBER_BODY = Annotated[
    schemas.Registration,
    Body(
        title="Member registration",
        description="Only `phone` is required. `channel`: pos, web, bot, api or import.",
        examples=[
            Example(
                summary="A shopper at the till",
                value={
                    "phone": "+79123456789",
                    "first_name": "Anna",
                    "last_name": "Ivanova",
                    "email": "anna@example.com",
                    "birth_date": "1990-05-17",
                    "channel": "pos",
                    "store_id": "msk-001",
                    "consents": {"sms": True, "viber": True, "email": False, "push": True, "telegram": True},
                },
            )
        ],
    ),
]

RECEIPT_BODY = Annotated[
    schemas.Receipt,
    Body(
        title="Receipt",
        description=(
            "Money in minor units (kopecks); each line's amount = price × quantity. `member` is "
            '{"phone"}, {"card_number"}, {"member_id"} or null; `redeem` is points or "max". '
            "`promo_code` unlocks a promotion (the answer's `promo_code` says whether it applied and why not); "
            '`certificates` [{"number", "amount"?}] pays with gift certificates after points (no amount: as '
            "much as each can). The answer adds per line `certificate` and `promotions` (which promotions "
            "touched it), and top level `promotions` and `certificates`."
        ),
        examples=[
            Example(
                summary="Coffee, paying the most points allowed",
                value={
                    "store_id": "msk-001",
                    "receipt_id": "A-000123",
                    "purchased_at": "2026-11-22T12:00:00+03:00",
                    "member": {"phone": "+79123456789"},
                    "lines": [
                        {
                            "sku": "4607001",
                            "name": "Coffee",
                            "category": "food",
                            "quantity": 1,
                            "price": 25000,
                            "amount": 25000,
                        }
                    ],
                    "redeem": "max",
                    "promo_code": None,
                },
            ),
            Example(
                summary="With a promo code and a gift certificate",
                value={
                    "store_id": "msk-001",
                    "receipt_id": "A-000124",
                    "member": {"phone": "+79123456789"},
                    "lines": [
                        {
                            "sku": "4607001",
                            "name": "Coffee",
                            "category": "coffee",
                            "quantity": 1,
                            "price": 25000,
                            "amount": 25000,
                        },
                        {
                            "sku": "4607100",
                            "name": "Croissant",
                            "category": "pastry",
                            "quantity": 1,
                            "price": 15000,
                            "amount": 15000,
                        },
                    ],
                    "redeem": 0,
                    "promo_code": "AUTUMN",
                    "certificates": [{"number": "9000000000000001", "amount": 5000}],
                },
            ),
        ],
    ),
]

REFUND_BODY = Annotated[
    schemas.RefundBody,
    Body(
        title="Refund",
        description="Either lines [{sku, quantity}] or amount (goods value returned, minor units).",
        examples=[
            Example(summary="By lines", value={"refund_id": "R-1", "lines": [{"sku": "4607001", "quantity": 1}]}),
            Example(summary="By amount", value={"refund_id": "R-2", "amount": 12500}),
        ],
    ),
]

PROMOTION_BODY = Annotated[
    promotions.PromotionBody,
    Body(
        title="Promotion",
        description=(
            "kind: discount (percent or amount off matching lines), bundle (percent off matching lines when "
            "the receipt holds with_skus/with_categories items, one per unit) or accrual (multiplier, "
            "extra_percent or fixed points on matching lines). Lines match skus or categories (none: every "
            "line). Targeting: store_ids, tier_codes, segment_ids; starts_at/ends_at; min_total (kopecks, the "
            "receipt before discounts). Stacking: priority (higher first), combinable (false: only untouched "
            "lines, and nothing after it on them). code_only: applies only with a promo code of its batches. "
            "Limits: max_uses (receipts in all), max_uses_per_member."
        ),
        examples=[
            Example(
                summary="-30% on pastry with any coffee",
                value={
                    "name": "-30% on pastry with a coffee",
                    "kind": "bundle",
                    "percent": 30,
                    "categories": ["pastry"],
                    "with_categories": ["coffee"],
                },
            ),
            Example(
                summary="2x points on wine this weekend for Gold",
                value={
                    "name": "2x points on wine",
                    "kind": "accrual",
                    "multiplier": 2,
                    "categories": ["wine"],
                    "tier_codes": ["gold"],
                    "starts_at": "2026-12-05T00:00:00+03:00",
                    "ends_at": "2026-12-07T00:00:00+03:00",
                },
            ),
            Example(
                summary="500 off with code AUTUMN",
                value={
                    "name": "AUTUMN: 500 off",
                    "kind": "discount",
                    "amount": 50000,
                    "code_only": True,
                    "min_total": 100000,
                },
            ),
        ],
    ),
]

PROMOTION_PATCH = Annotated[
    promotions.PromotionChange,
    Body(
        title="Promotion change",
        description="Any fields of a promotion; the rest stay as they are.",
        examples=[Example(summary="Stop it", value={"active": False})],
    ),
]

BATCH_BODY = Annotated[
    promotions.CodeBatchBody,
    Body(
        title="Promo-code batch",
        description=(
            'kind "unique": `count` generated single-use codes (optional `prefix`), exportable as CSV; kind '
            '"shared": one seasonal `code`, `total_limit` uses in all. `per_member_limit` counts uses of the '
            "batch by one member."
        ),
        examples=[
            Example(
                summary="Seasonal code",
                value={"kind": "shared", "code": "AUTUMN", "total_limit": 1000, "per_member_limit": 1},
            ),
            Example(summary="10,000 single-use codes", value={"kind": "unique", "count": 10000, "prefix": "W-"}),
        ],
    ),
]

CERTIFICATE_BODY = Annotated[
    promotions.CertificateIssue,
    Body(
        title="Gift certificates",
        description="amount in kopecks; count (default 1); expires_at optional.",
        examples=[
            Example(
                summary="Ten of 5,000 ₽",
                value={"amount": 500000, "count": 10, "expires_at": "2027-12-31T23:59:59+03:00"},
            )
        ],
    ),
]

GRANT_BODY = Annotated[
    promotions.GrantBody,
    Body(
        title="Bonus grant",
        description="points for a segment (segment_id) or a list (members: ids, phones or card numbers), "
        "expiring at expires_at or after expires_days (default: the program's expiry).",
        examples=[
            Example(
                summary="Burning bonuses for lapsed customers",
                value={"name": "We miss you", "points": 300, "expires_days": 14, "segment_id": 1},
            )
        ],
    ),
]

OFFER_ISSUE_BODY = Annotated[
    promotions.OfferIssue,
    Body(
        title="Issue personal offers",
        description="The segment whose members (its snapshot) get the personal promotion's offers.",
        examples=[Example(summary="To a segment", value={"segment_id": 1})],
    ),
]
