"""Webhook subscriptions through /api/v1 (staff keys only): subscribe a URL, read its deliveries,
replay one, unsubscribe. The signing secret is shown once, in the answer to the subscription."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from shared.db.models.webhooks import WebhookDelivery, WebhookEndpoint
from shared.errors import NotFound
from shared.webhooks import (
    EVENTS,
    create_endpoint,
    delete_endpoint,
    endpoint_deliveries,
    get_endpoint,
    list_endpoints,
    replay,
)
from webapp.api.schemas.problems import problem_responses
from webapp.deps import CoreDep

STAFF = {"scope": "staff"}
EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Status = Literal["pending", "delivered", "failed", "cancelled"]


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    events: Annotated[list[EventName], msgspec.Meta(min_length=1, max_length=len(EVENTS))]


class Webhook(msgspec.Struct):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    disabled_reason: str | None


class WebhookCreated(Webhook):
    secret: str  # whsec_<base64>: shown once


class WebhookDeliveryItem(msgspec.Struct):
    id: str  # the webhook-id header
    event: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, object]


class WebhookDeliveryPage(msgspec.Struct):
    items: list[WebhookDeliveryItem]
    total: int
    limit: int
    offset: int


class WebhookList(msgspec.Struct):
    items: list[Webhook]


def webhook_view(endpoint: WebhookEndpoint) -> Webhook:
    return Webhook(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        active=endpoint.active,
        created_at=endpoint.created_at,
        disabled_reason=endpoint.disabled_reason,
    )


def delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryItem:
    return WebhookDeliveryItem(
        id=delivery.webhook_id,
        event=delivery.event_kind,
        status=delivery.status,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        payload=delivery.payload,
    )


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ("webhooks",)
    opt = STAFF

    @post(
        "/",
        status_code=201,
        summary="Subscribe an https URL to events; the answer carries the signing secret",
        operation_id="subscribe_webhook",
        responses=problem_responses(403, 422),
    )
    async def subscribe(self, core: CoreDep, data: JSONBody[WebhookIn]) -> WebhookCreated:
        async with core.transaction() as session:
            endpoint = await create_endpoint(session, core.settings.webhooks, data.url, data.events, core.clock.now())
            view = webhook_view(endpoint)
            return WebhookCreated(**msgspec.structs.asdict(view), secret=endpoint.secret.get_secret_value())

    @get(
        "/",
        summary="The subscribed endpoints (without their secrets)",
        operation_id="list_webhooks",
        responses=problem_responses(403),
    )
    async def index(self, core: CoreDep) -> WebhookList:
        async with core.reading() as session:
            return WebhookList([webhook_view(e) for e in await list_endpoints(session)])

    @get(
        "/{webhook_id:int}/deliveries",
        summary="An endpoint's deliveries, newest first",
        operation_id="webhook_deliveries",
        responses=problem_responses(403, 404, 422),
    )
    async def deliveries(
        self,
        core: CoreDep,
        webhook_id: FromPath[int],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
        status: FromQuery[Status | None] = None,
    ) -> WebhookDeliveryPage:
        async with core.reading() as session:
            rows, total = await endpoint_deliveries(session, webhook_id, limit, offset, status)
            return WebhookDeliveryPage([delivery_view(d) for d in rows], total, limit, offset)

    @post(
        "/{webhook_id:int}/deliveries/{delivery_id:str}/replay",
        status_code=202,
        summary="Send a delivery again, under the same webhook-id",
        operation_id="replay_webhook_delivery",
        responses=problem_responses(403, 404, 422),
    )
    async def replay(self, core: CoreDep, webhook_id: FromPath[int], delivery_id: FromPath[str]) -> WebhookDeliveryItem:
        did = _delivery_uuid(delivery_id)
        async with core.transaction() as session:
            await get_endpoint(session, webhook_id)
            delivery = await replay(session, core.settings.webhooks, did, core.clock.now(), endpoint_id=webhook_id)
            return delivery_view(delivery)

    @delete(
        "/{webhook_id:int}",
        status_code=204,
        summary="Unsubscribe: nothing more is sent to it",
        operation_id="delete_webhook",
        responses=problem_responses(403, 404),
    )
    async def unsubscribe(self, core: CoreDep, webhook_id: FromPath[int]) -> None:
        async with core.transaction() as session:
            await delete_endpoint(session, webhook_id)


def _delivery_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.removeprefix("msg_"))
    except ValueError:
        raise NotFound("No such delivery.") from None
