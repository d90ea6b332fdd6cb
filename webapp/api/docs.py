"""Request bodies as the OpenAPI document shows them. Bodies are checked by the core, which
gives field-by-field messages, so handlers take plain JSON objects."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import Example
from litestar.params import Body

MEMBER_BODY = Annotated[
    dict[str, Any],
    Body(
        title="Member registration",
        description="Only `phone` is required. `channel`: pos, web, bot, api or import.",
        examples=[Example(summary="A shopper at the till", value={
            "phone": "+79123456789", "first_name": "Anna", "last_name": "Ivanova",
            "email": "anna@example.com", "birth_date": "1990-05-17", "channel": "pos", "store_id": "msk-001",
            "consents": {"sms": True, "viber": True, "email": False, "push": True, "telegram": True}})],
    ),
]

RECEIPT_BODY = Annotated[
    dict[str, Any],
    Body(
        title="Receipt",
        description=(
            "Money in minor units (kopecks); each line's amount = price × quantity. `member` is "
            '{"phone"}, {"card_number"}, {"member_id"} or null; `redeem` is points or "max".'
        ),
        examples=[Example(summary="Coffee, paying the most points allowed", value={
            "store_id": "msk-001", "receipt_id": "A-000123", "purchased_at": "2026-11-22T12:00:00+03:00",
            "member": {"phone": "+79123456789"},
            "lines": [{"sku": "4607001", "name": "Coffee", "category": "food", "quantity": 1,
                       "price": 25000, "amount": 25000}],
            "redeem": "max", "promo_code": None})],
    ),
]

REFUND_BODY = Annotated[
    dict[str, Any],
    Body(
        title="Refund",
        description="Either lines [{sku, quantity}] or amount (goods value returned, minor units).",
        examples=[
            Example(summary="By lines", value={"refund_id": "R-1", "lines": [{"sku": "4607001", "quantity": 1}]}),
            Example(summary="By amount", value={"refund_id": "R-2", "amount": 12500}),
        ],
    ),
]
