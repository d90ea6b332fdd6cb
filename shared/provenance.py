"""Where a ledger entry's points came from or went: the store of its receipt and that store's
partner (none: the retailer's own store). One join, shared by every history (API, cabinet, bot)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from shared.db.models import Entry, Purchase, Store
from shared.db.models.partners import Partner
from shared.i18n import text


def with_place(stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """The statement over Entry, with the receipt's store id, store name and partner code and name added."""
    return (
        stmt.add_columns(Purchase.store_id, Store.name, Partner.code, Partner.name)
        .outerjoin(Purchase, Purchase.id == Entry.purchase_id)
        .outerjoin(Store, Store.id == Purchase.store_id)
        .outerjoin(Partner, Partner.id == Store.partner_id)
    )


def place_text(language: str | None, store_id: str | None, store_name: str | None, partner: str | None) -> str:
    """`Store name` for the retailer's own store, `Store name, partner Bank` at a partner's; '' for none."""
    if store_id is None:
        return ""
    store = store_name or store_id
    return text(language, "points", "place_partner", store=store, partner=partner) if partner else store


__all__ = ["place_text", "with_place"]
