"""Outbound webhooks, the core's part: endpoints integrators subscribe, the Standard Webhooks
signature, and one delivery row per (endpoint, event) planned from the outbox in the worker's
transaction (so an event is delivered at least once, under one `webhook-id` on every attempt).
Sending is notifications/webhooks.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import WebhookSettings
from shared.db.models import OutboxEvent, Purchase
from shared.db.models.webhooks import CANCELLED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.events import EventKind
from shared.outbound import OutboundRefused, resolve_public

__all__ = [
    "EVENTS",
    "BadSignature",
    "create_endpoint",
    "delete_endpoint",
    "endpoint_deliveries",
    "get_endpoint",
    "list_endpoints",
    "new_secret",
    "plan_deliveries",
    "replay",
    "retry_delay",
    "sign",
    "verify",
]

# The events an integrator may subscribe to, and the outbox events each one is made from.
EVENTS: dict[str, tuple[EventKind, ...]] = {
    "member.registered": (EventKind.MEMBER_REGISTERED,),
    "member.updated": (EventKind.MEMBER_UPDATED,),
    "purchase.confirmed": (EventKind.POINTS_ACCRUED, EventKind.POINTS_REDEEMED),
    "purchase.refunded": (EventKind.PURCHASE_REFUNDED,),
    "tier.changed": (EventKind.TIER_CHANGED,),
    "points.expiring": (EventKind.POINTS_EXPIRING,),
    "campaign.finished": (EventKind.CAMPAIGN_FINISHED,),
}
_BY_KIND = {kind.value: name for name, kinds in EVENTS.items() for kind in kinds}
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
MAX_BACKOFF = timedelta(hours=6)


def new_secret() -> SecretStr:
    """`whsec_` and 32 random bytes in base64; the key is the decoded bytes (Standard Webhooks)."""
    return SecretStr(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


def sign(secret: SecretStr, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: v1 and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    key = base64.b64decode(secret.get_secret_value().removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class BadSignature(ValueError):
    """A webhook request that does not carry a valid, recent signature."""


def verify(
    secret: SecretStr,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> dict[str, Any]:
    """The receiving side of `sign` (for `loyalty webhooks listen` and as the reference for
    integrators): the body as JSON when one of the `v1` signatures matches and the timestamp is
    within `tolerance` of now (so a captured request cannot be replayed later)."""
    webhook_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not webhook_id or len(webhook_id) > 256 or not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature("missing or malformed webhook-id or webhook-timestamp")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise BadSignature("timestamp too far from now")
    expected = sign(secret, webhook_id, int(stamp), body).encode()
    offered = [part.encode() for part in headers.get("webhook-signature", "").split()[:8]]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise BadSignature("no matching v1 signature")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadSignature("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadSignature("the body is not a JSON object")
    return payload


def retry_delay(attempts: int, first_seconds: float, rng: random.Random | None = None) -> timedelta:
    """Exponential back-off (doubling from `first_seconds`, at most 6 h) with "equal jitter": a
    random point in the upper half, so receivers that failed together are not retried together."""
    ceiling = min(first_seconds * 2 ** max(0, attempts - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


def _check_events(events: object) -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidInput("Name the events to send.", [FieldError("events", "a non-empty list")])
    unknown = [str(e)[:40] for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(
            "Unknown events.", [FieldError("events", f"unknown: {', '.join(unknown[:5])}; known: {', '.join(EVENTS)}")]
        )
    return sorted(set(events))


async def create_endpoint(
    session: AsyncSession, settings: WebhookSettings, url: str, events: list[str], now: datetime
) -> WebhookEndpoint:
    """Subscribe a URL (the policy's rules: https, a public host name) to some events."""
    chosen = _check_events(events)
    policy = settings.endpoint_policy
    try:
        target = policy.check_url(url)
        await resolve_public(target.host, target.port, policy)
    except OutboundRefused as exc:  # not https, an IP, or a name for a private address (localhost)
        raise InvalidInput("This URL cannot receive webhooks.", [FieldError("url", str(exc))]) from exc
    except OSError:  # no answer from DNS now: every delivery is checked again when it is sent
        pass
    count = (await session.execute(select(func.count()).select_from(WebhookEndpoint))).scalar_one()
    if count >= settings.max_endpoints:
        raise Conflict(f"At most {settings.max_endpoints} webhook endpoints; delete one first.")
    endpoint = WebhookEndpoint(url=url, events=chosen, secret=new_secret(), active=True, created_at=now)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint_id: int) -> None:
    """The endpoint and its deliveries: nothing more is sent to it."""
    endpoint = await get_endpoint(session, endpoint_id)
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    await session.delete(endpoint)


async def endpoint_deliveries(
    session: AsyncSession, endpoint_id: int, limit: int, offset: int = 0, status: str | None = None
) -> tuple[list[WebhookDelivery], int]:
    """A page of an endpoint's deliveries, newest first, and how many there are in all."""
    await get_endpoint(session, endpoint_id)
    where = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = (await session.execute(select(func.count()).select_from(WebhookDelivery).where(*where))).scalar_one()
    rows = (
        await session.execute(
            select(WebhookDelivery)
            .where(*where)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return list(rows), total


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list((await session.execute(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).scalars())


async def replay(
    session: AsyncSession, settings: WebhookSettings, delivery_id: uuid.UUID, now: datetime, endpoint_id: int
) -> WebhookDelivery:
    """Send a delivery again, under the same id (the receiver may drop it as a duplicate)."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound("No such delivery.")
    endpoint = await get_endpoint(session, delivery.endpoint_id)
    if not endpoint.active:
        raise Conflict("The endpoint is disabled.")
    delivery.status, delivery.next_attempt_at = PENDING, now
    delivery.give_up_at = now + timedelta(hours=settings.retry_hours)
    return delivery


async def disable_endpoint(session: AsyncSession, endpoint_id: int, reason: str, now: datetime) -> None:
    """The receiver said 410 Gone: stop sending to it, and cancel what was still to be sent."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(active=False, disabled_at=now, disabled_reason=reason[:300])
    )
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(status=CANCELLED, next_attempt_at=None)
    )


async def _purchase_data(session: AsyncSession, purchase_id: str) -> dict[str, Any] | None:
    try:
        pid = uuid.UUID(purchase_id)
    except ValueError:
        return None
    purchase = await session.get(Purchase, pid)
    if purchase is None:
        return None
    return {
        "purchase_id": str(purchase.id),
        "member_id": str(purchase.member_id) if purchase.member_id else None,
        "store_id": purchase.store_id,
        "receipt_id": purchase.receipt_id,
        "purchased_at": purchase.purchased_at.isoformat(),
        "total": purchase.total,
        "discount": purchase.discount,
        "points_redeemed": purchase.redeemed,
        "paid": purchase.paid,
        "points_accrued": purchase.accrued,
    }


async def _event_data(session: AsyncSession, name: str, event: OutboxEvent) -> tuple[str, dict[str, Any]] | None:
    """What an event is about (so it is planned once per endpoint) and what the receiver gets."""
    if name == "purchase.confirmed":  # from its accrual or its redemption, whichever comes first
        purchase_id = str(event.payload.get("purchase_id", ""))
        data = await _purchase_data(session, purchase_id)
        return None if data is None else (f"purchase:{purchase_id}", data)
    data = dict(event.payload)
    if name != "campaign.finished":
        data["member_id"] = str(event.member_id) if event.member_id else None
    return f"event:{event.id}", data


async def plan_deliveries(
    session: AsyncSession, settings: WebhookSettings, events: Iterable[OutboxEvent], now: datetime
) -> int:
    """A delivery row per (active endpoint subscribed to it, event); planning twice adds nothing."""
    wanted = [(event, _BY_KIND[event.kind]) for event in events if event.kind in _BY_KIND]
    if not wanted:
        return 0
    endpoints = list((await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.active))).scalars())
    if not endpoints:
        return 0
    rows = []
    for event, name in wanted:
        targets = [e for e in endpoints if name in e.events]
        found = await _event_data(session, name, event) if targets else None
        if found is None:
            continue
        key, data = found
        body = {"type": name, "timestamp": event.created_at.isoformat(), "data": data}
        rows += [
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.id,
                "event_key": key,
                "event_kind": name,
                "payload": body,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "give_up_at": now + timedelta(hours=settings.retry_hours),
            }
            for endpoint in targets
        ]
    if rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing())
    return len(rows)


def outcome_after_failure(delivery: WebhookDelivery, settings: WebhookSettings, now: datetime) -> tuple[str, Any]:
    """(status, next attempt) after a failed attempt: back off, or give up past the deadline."""
    delay = retry_delay(delivery.attempts, settings.first_retry_seconds)
    if now + delay > delivery.give_up_at:
        return FAILED, None
    return PENDING, now + delay
