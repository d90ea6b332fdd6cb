"""The console's webhook page: admins only, each endpoint with its deliveries and failures, and a
replay that queues the same delivery (same webhook-id) again."""

from __future__ import annotations

from sqlalchemy import select

from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.webhooks import FAILED, WebhookDelivery
from shared.events import EventKind, emit
from shared.webhooks import create_endpoint, plan_deliveries
from tests.integration.console.test_console_routes import Console, console, password_hash, signed_in, staff

__all__ = ["console", "password_hash", "staff"]


async def test_admins_see_deliveries_and_replay_a_failed_one(core: Core, console: Console) -> None:
    now = core.clock.now()
    async with core.transaction() as session:
        endpoint = await create_endpoint(
            session, core.settings.webhooks, "https://crm.example/hooks", ["tier.changed"], now
        )
        await emit(session, EventKind.TIER_CHANGED, None, {"from": "standard", "to": "gold"}, now)
    async with core.transaction() as session:
        events = list((await session.execute(select(OutboxEvent))).scalars())
        assert await plan_deliveries(session, core.settings.webhooks, events, now) == 1
        delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
        delivery.status, delivery.attempts, delivery.last_status_code = FAILED, 19, 503
        delivery.next_attempt_at = None

    marketer = await signed_in(console, "marketer")
    assert (await marketer.get("/console/webhooks")).status_code == 403
    admin = await signed_in(console, "admin")
    listed = await admin.get("/console/webhooks")
    assert listed.status_code == 200
    assert "https://crm.example/hooks" in listed.text
    assert delivery.webhook_id in listed.text
    assert "Failed deliveries: 1" in listed.text
    assert "secret" not in listed.text.lower()

    replayed = await admin.post(f"/console/webhooks/{endpoint.id}/deliveries/{delivery.webhook_id}/replay", {})
    assert replayed.status_code == 303
    async with core.reading() as session:
        again = (await session.execute(select(WebhookDelivery))).scalar_one()
    assert again.id == delivery.id
    assert again.status == "pending"
    assert again.next_attempt_at == core.clock.now()

    admin.language = "ru"
    assert "Недоставленные: 0" in (await admin.get("/console/webhooks")).text
    missing = await admin.post(f"/console/webhooks/{endpoint.id}/deliveries/msg_nothing/replay", {})
    assert missing.status_code == 404
