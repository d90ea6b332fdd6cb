"""Coalition partners through /api/v1 (staff keys): partners, agreements, stores, till keys, settlements."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.partners import MAX_KEY_NAME, MAX_PRICE
from shared.stores import MAX_CODE, MAX_NAME

Code = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_CODE, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", examples=["bank"])
]
Day = Annotated[str, msgspec.Meta(min_length=10, max_length=10, examples=["2026-12-01"], description="YYYY-MM-DD")]
Price = Annotated[int, msgspec.Meta(ge=0, le=MAX_PRICE, description="kopecks per point")]


class PartnerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]


class PartnerOut(msgspec.Struct):
    id: int
    code: str
    name: str
    active: bool


class PartnerPage(msgspec.Struct):
    items: list[PartnerOut]
    total: int
    limit: int
    offset: int


class AgreementIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    issue_price: Annotated[Price, msgspec.Meta(description="what the partner pays per point issued at its stores")]
    redeem_price: Annotated[Price, msgspec.Meta(description="what the program pays per point spent at its stores")]
    valid_from: Day
    valid_to: Day | None = None  # the last day, inclusive; null: open-ended
    earn_percent: (
        Annotated[int, msgspec.Meta(ge=0, le=100, description="earn rate at its stores; null: the member's tier rate")]
        | None
    ) = None


class AgreementOut(msgspec.Struct):
    id: int
    issue_price: int
    redeem_price: int
    earn_percent: int | None
    valid_from: str
    valid_to: str | None


class StoreAssignment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    store_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CODE)]


class AssignedStore(msgspec.Struct):
    store_id: str
    partner_id: int


class KeyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_KEY_NAME)]


class PartnerKey(msgspec.Struct):
    name: str
    key: Annotated[str, msgspec.Meta(description="the till key, shown this once; only its hash is kept")]


class SettlementLineOut(msgspec.Struct):
    carried_from: str | None
    issued: int
    spent: int
    expired: int
    reversed: int
    restored: int
    issue_price: int | None
    redeem_price: int | None
    partner_pays: int
    program_pays: int
    formula: str


class SettlementOut(msgspec.Struct):
    partner_id: int
    period: str
    closed_at: str | None
    lines: list[SettlementLineOut]
    partner_pays: int
    program_pays: int
    formula: str


__all__ = [
    "AgreementIn",
    "AgreementOut",
    "AssignedStore",
    "KeyIn",
    "PartnerIn",
    "PartnerKey",
    "PartnerOut",
    "PartnerPage",
    "SettlementLineOut",
    "SettlementOut",
    "StoreAssignment",
]
