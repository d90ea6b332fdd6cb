"""A member's personal offers, as a till prints them (docs/offers.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from webapp.api.schemas.fields import Moment


class PersonalOffer(Struct, kw_only=True):
    id: int
    promotion_id: int
    promotion: Annotated[str, Meta(description="the promotion's name")]
    kind: Literal["sku", "category"]
    item: Annotated[str, Meta(description="the SKU or category the boost applies to")]
    multiplier: Annotated[int, Meta(description="points on the item's lines × this (0: none)")]
    extra_percent: Annotated[int, Meta(description="percent of the lines' paid money added in points (0: none)")]
    valid_from: Moment
    valid_to: Annotated[str, Meta(description="RFC 3339; the offer ends just before this moment")]
    redeemed: Annotated[bool, Meta(description="a receipt held the item already (the offer still runs)")]
    text: Annotated[str, Meta(description="one line to print, in the program's language")]


class PersonalOffers(Struct, kw_only=True):
    items: list[PersonalOffer]
