"""Where a member shops: the home store (the one they registered at, else the one of their first purchase)
and the stores nearest to it, for the wallet pass's `locations`."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Member, Purchase, Store

MAX_LOCATIONS = 10  # Apple shows at most ten locations of a pass


async def home_store(session: AsyncSession, member: Member) -> Store | None:
    """The registration store when it is known and placed on the map; else the store of the first
    purchase (one row through ix_purchases_member_purchased)."""
    if member.registration_store:
        store = await session.get(Store, member.registration_store)
        if store is not None and store.latitude is not None:
            return store
    first = (
        await session.execute(
            select(Purchase.store_id)
            .where(Purchase.member_id == member.id)
            .order_by(Purchase.purchased_at, Purchase.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if first is None else await session.get(Store, first)


async def nearest_stores(session: AsyncSession, home: Store | None, limit: int = MAX_LOCATIONS) -> list[Store]:
    """Stores with coordinates, nearest to `home` first (an equirectangular distance, fine at city and
    country scale; the ±180° meridian is not wrapped); without a placed home, the first by code."""
    placed = select(Store).where(Store.latitude.is_not(None), Store.longitude.is_not(None))
    if home is None or home.latitude is None or home.longitude is None:
        return list((await session.execute(placed.order_by(Store.id).limit(limit))).scalars())
    stretch = math.cos(math.radians(home.latitude))
    d_lat = Store.latitude - home.latitude
    d_lon = (Store.longitude - home.longitude) * stretch
    ordered = placed.order_by(d_lat * d_lat + d_lon * d_lon, Store.id).limit(limit)
    return list((await session.execute(ordered)).scalars())


__all__ = ["MAX_LOCATIONS", "home_store", "nearest_stores"]
