"""Webhook endpoints in the console (admins only): each endpoint with its recent deliveries and
failures, and a replay button (a new attempt under the same webhook-id)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from shared.core import Core
from shared.db.models.webhooks import FAILED, WebhookDelivery
from shared.errors import NotFound
from shared.webhooks import endpoint_deliveries, list_endpoints, replay
from webapp.console.pages import ADMIN_ONLY, page

RECENT = 20


class WebhooksController(Controller):
    path = "/console/webhooks"
    opt = {"roles": ADMIN_ONLY}  # noqa: RUF012 - Litestar's layered options
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], core: NamedDependency[Core]) -> Template:
        async with core.reading() as session:
            endpoints = await list_endpoints(session)
            failures = dict(
                (
                    await session.execute(
                        select(WebhookDelivery.endpoint_id, func.count())
                        .where(WebhookDelivery.status == FAILED)
                        .group_by(WebhookDelivery.endpoint_id)
                    )
                ).all()
            )
            recent = {e.id: (await endpoint_deliveries(session, e.id, RECENT))[0] for e in endpoints}
        return page(request, "console/webhooks.html.j2", endpoints=endpoints, failures=failures, recent=recent)

    @post("/{endpoint_id:int}/deliveries/{delivery_id:str}/replay", status_code=303)
    async def replay(
        self,
        core: NamedDependency[Core],
        endpoint_id: FromPath[int],
        delivery_id: FromPath[str],
    ) -> Redirect:
        try:
            did = uuid.UUID(delivery_id.removeprefix("msg_"))
        except ValueError:
            raise NotFound("No such delivery.") from None
        async with core.transaction() as session:
            await replay(session, core.settings.webhooks, did, core.clock.now(), endpoint_id=endpoint_id)
        return Redirect("/console/webhooks", status_code=303)
