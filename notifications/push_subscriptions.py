"""Browser push subscriptions of members (one row per push-service endpoint)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db.models.messages import PushSubscription
from shared.errors import Conflict, FieldError, InvalidInput
from shared.outbound import UnsafeURL, UrlPolicy

TAKEN = "This push endpoint belongs to another member."


def push_policy(settings: Settings) -> UrlPolicy:
    """Which endpoints we accept and call (LOYALTY_PUSH_ALLOWED_HOSTS, …_ALLOW_INSECURE_HOSTS)."""
    return settings.push.endpoint_policy


def _parse(subscription: dict[str, Any], policy: UrlPolicy) -> tuple[str, str, str]:
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys") or {}
    p256dh, auth = (
        keys.get("p256dh") if isinstance(keys, dict) else None,
        keys.get("auth") if isinstance(keys, dict) else None,
    )
    try:
        policy.check_url(endpoint)
    except UnsafeURL as exc:
        raise InvalidInput("Not a push subscription.", [FieldError("endpoint", str(exc))]) from exc
    if not (isinstance(p256dh, str) and isinstance(auth, str) and 0 < len(p256dh) <= 200 and 0 < len(auth) <= 100):
        raise InvalidInput("Not a push subscription.", [FieldError("keys", "p256dh and auth")])
    return str(endpoint), p256dh, auth


async def save_subscription(
    session: AsyncSession,
    member_id: uuid.UUID,
    subscription: dict[str, Any],
    now: datetime,
    policy: UrlPolicy,
) -> PushSubscription:
    """Store a browser's subscription; the same member sending it again refreshes the keys. An
    endpoint another member holds stays theirs (Conflict): whoever knows an endpoint URL must not
    be able to take over that browser's notifications."""
    endpoint, p256dh, auth = _parse(subscription, policy)
    row = (
        await session.execute(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    ).scalar_one_or_none()
    if row is None:
        row = PushSubscription(member_id=member_id, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=now)
        try:
            async with session.begin_nested():  # a concurrent first save of the same endpoint
                session.add(row)
        except IntegrityError:
            row = (
                await session.execute(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
            ).scalar_one_or_none()
            if row is None or row.member_id != member_id:
                raise Conflict(TAKEN) from None
    elif row.member_id != member_id:
        raise Conflict(TAKEN)
    else:
        row.p256dh, row.auth = p256dh, auth
    await session.flush()
    return row


async def remove_subscription(session: AsyncSession, endpoint: str, member_id: uuid.UUID | None = None) -> bool:
    """Forget an endpoint (browser unsubscribed, or the push service said 404/410)."""
    query = delete(PushSubscription).where(PushSubscription.endpoint == endpoint)
    if member_id is not None:
        query = query.where(PushSubscription.member_id == member_id)
    result = await session.execute(query)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def subscriptions_of(session: AsyncSession, member_id: uuid.UUID) -> list[PushSubscription]:
    rows = await session.execute(
        select(PushSubscription).where(PushSubscription.member_id == member_id).order_by(PushSubscription.id)
    )
    return list(rows.scalars())
