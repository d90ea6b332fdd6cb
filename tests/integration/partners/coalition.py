"""Two partners with a store each, the retailer's own store, and each partner's till key (for any suite)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.core import Core
from shared.partners import PartnerFields, assign_store, create_partner_key, save_partner
from shared.stores import StoreFields, save_store

OWN, BANK, PHARMACY = "msk-001", "bank-01", "pharm-01"


@dataclass(frozen=True)
class Coalition:
    bank_id: int
    pharmacy_id: int
    bank_key: str
    pharmacy_key: str


async def make_coalition(core: Core) -> Coalition:
    async with core.transaction() as session:
        for code in (OWN, BANK, PHARMACY):
            await save_store(
                session, core.clock, StoreFields(code, f"Store {code}", "Europe/Moscow", None, None, None), actor="t"
            )
        bank = await save_partner(session, core.clock, PartnerFields("bank", "Bank", True), actor="t")
        pharmacy = await save_partner(session, core.clock, PartnerFields("pharmacy", "Pharmacy", True), actor="t")
        await assign_store(session, core.clock, BANK, bank, actor="t")
        await assign_store(session, core.clock, PHARMACY, pharmacy, actor="t")
        bank_key = await create_partner_key(session, core.clock, bank, "bank till", actor="t")
        pharmacy_key = await create_partner_key(session, core.clock, pharmacy, "pharmacy till", actor="t")
    return Coalition(bank.id, pharmacy.id, bank_key, pharmacy_key)
