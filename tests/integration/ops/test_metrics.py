"""GET /metrics: Prometheus text, behind a bearer token; counters by route template and status,
business and delivery counters, and the outbox depth read from the database when scraped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from notifications.worker import Worker
from shared.clock import FixedClock
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from shared.events import EventKind, emit
from tests.conftest import app_client
from tests.integration.notifications.test_flow import channels, member
from tests.stubs.apns import ApnsStub
from wallet.live import WalletUpdater
from webapp.app import create_app

TOKEN = "metrics-token-" + "m" * 20
ROOT = Path(__file__).resolve().parents[3]
RECEIPT = {
    "store_id": "s1",
    "receipt_id": "r1",
    "member": {"phone": "+79123456789"},
    "lines": [{"sku": "a", "quantity": 1, "price": 100000, "amount": 100000}],
}


def with_token(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict:
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


async def test_metrics_is_404_without_a_token_and_401_with_a_wrong_one(core: Core, settings: Settings) -> None:
    async with app_client(create_app(settings, core=core)) as http:
        assert (await http.get("/metrics")).status_code == 404
    async with app_client(create_app(with_token(settings), core=core)) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200


async def test_requests_counted_by_route_template_and_status_with_business_counters(
    core: Core, settings: Settings, api_key: str
) -> None:
    async with app_client(create_app(with_token(settings), core=core), Authorization=f"Bearer {api_key}") as http:
        before = await scrape(http)
        await http.post("/api/v1/members", json={"phone": "+79123456789"})
        assert (await http.post("/api/v1/purchases", json=RECEIPT)).status_code == 201
        assert (await http.post("/api/v1/purchases", json=RECEIPT)).status_code == 200  # a replay counts once
        refund = await http.post("/api/v1/purchases/s1/r1/refunds", json={"refund_id": "R1", "amount": 50000})
        assert refund.status_code == 201
        missing = await http.post(
            "/api/v1/purchases/s1/secret-receipt-42/refunds", json={"refund_id": "R2", "amount": 1}
        )
        assert missing.status_code == 404
        after = await scrape(http)
    route = "/api/v1/purchases/{store_id}/{receipt_id}/refunds"
    delta = value(after, "loyalty_http_requests_total", method="POST", route=route, status="201") - value(
        before, "loyalty_http_requests_total", method="POST", route=route, status="201"
    )
    assert delta == 1
    assert value(after, "loyalty_http_requests_total", method="POST", route=route, status="404") >= 1
    assert (
        value(
            after, "loyalty_http_request_duration_seconds_count", method="POST", route="/api/v1/purchases", status="201"
        )
        >= 1
    )
    assert not any("secret-receipt-42" in str(labels) for _, labels in after)  # no raw paths as labels
    assert value(after, "loyalty_purchases_confirmed_total") - value(before, "loyalty_purchases_confirmed_total") == 1
    assert value(after, "loyalty_refunds_total") - value(before, "loyalty_refunds_total") == 1
    accrued = value(after, "loyalty_points_accrued_total") - value(before, "loyalty_points_accrued_total")
    assert accrued > 0
    assert ("loyalty_db_pool_connections_in_use", ()) in after


async def test_outbox_depth_and_oldest_age_come_from_the_database(
    core: Core, settings: Settings, clock: FixedClock
) -> None:
    found = await member(core)
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_ACCRUED, found.id, {"points": 7}, core.clock.now())
    scripted = channels()
    worker = Worker(core, scripted)
    async with app_client(create_app(with_token(settings), core=core)) as http:
        pending = await scrape(http)
        assert value(pending, "loyalty_outbox_events_pending") == 2  # registration and accrual
        await worker.process_outbox()
        clock.advance(seconds=90)
        queued = await scrape(http)
        assert value(queued, "loyalty_outbox_events_pending") == 0
        channel = next(labels for name, labels in queued if name == "loyalty_outbox_messages")
        assert dict(channel)["state"] == "queued"
        assert value(queued, "loyalty_outbox_oldest_queued_seconds", channel=dict(channel)["channel"]) == 90
        before = value(
            queued,
            "loyalty_messages_total",
            channel=dict(channel)["channel"],
            provider="ScriptedChannel",
            result="delivered",
        )
        await worker.send_due()
        sent = await scrape(http)
    assert not [name for name, _ in sent if name == "loyalty_outbox_messages"]  # nothing waiting any more
    assert (
        value(
            sent,
            "loyalty_messages_total",
            channel=dict(channel)["channel"],
            provider="ScriptedChannel",
            result="delivered",
        )
        - before
        >= 1
    )


async def test_scheduler_runs_and_wallet_pushes_are_counted(
    core: Core, settings: Settings, api_key: str, tmp_path: Path
) -> None:
    stub = ApnsStub(tmp_path)
    url = await stub.start()
    core.settings = settings.model_copy(
        update={
            "metrics_token": SecretStr(TOKEN),
            "wallet": settings.wallet.model_copy(update={"apns_url": url, "apns_ca_file": stub.ca_file}),
        }
    )
    worker = Worker(core, {}, listeners=[WalletUpdater()])
    try:
        async with app_client(create_app(core.settings, core=core), Authorization=f"Bearer {api_key}") as http:
            before = await scrape(http)
            created = (await http.post("/api/v1/members", json={"phone": "+79123456789"})).json()
            await worker.process_outbox()
            serial = urlsplit(created["wallet"]["apple_url"]).path.rsplit("/", 1)[-1].removesuffix(".pkpass")
            async with core.reading() as session:
                token = (
                    await session.execute(select(Member.wallet_auth_token).where(Member.wallet_serial == serial))
                ).scalar_one()
            for device in ("iphone", "old"):
                await http.post(
                    f"/wallet/apple/v1/devices/{device}/registrations/pass.dev.loyalty.card/{serial}",
                    json={"pushToken": f"tok-{device}"},
                    headers={"Authorization": f"ApplePass {token}"},
                )
            stub.gone.add("tok-old")
            await http.post("/api/v1/purchases", json=RECEIPT)
            await worker.process_outbox()
            await worker._run_due()  # what the scheduler calls
            after = await scrape(http)
    finally:
        await stub.stop()
    for result in ("ok", "gone"):
        assert (
            value(after, "loyalty_wallet_updates_total", service="apns", result=result)
            - value(before, "loyalty_wallet_updates_total", service="apns", result=result)
            == 1
        )
    assert (
        value(after, "loyalty_scheduler_job_runs_total", job="due-jobs")
        - value(before, "loyalty_scheduler_job_runs_total", job="due-jobs")
        == 1
    )


MULTI = """
import sys
from shared.metrics import CONFIRMS
CONFIRMS.inc(int(sys.argv[1]))
"""
SCRAPE = """
from prometheus_client import generate_latest
from webapp.metrics import registry
print(generate_latest(registry()).decode())
"""


def test_several_processes_add_up_through_the_multiprocess_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for amount in ("2", "3"):
        subprocess.run([sys.executable, "-c", MULTI, amount], env=env, cwd=ROOT, check=True, timeout=60)
    out = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=env, cwd=ROOT, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    assert value(samples(out), "loyalty_purchases_confirmed_total") == 5


async def test_delivery_reports_are_counted_by_channel_and_result(core: Core, settings: Settings) -> None:
    from notifications.channels.base import DeliveryStatus
    from notifications.reports import record_delivery_report
    from tests.integration.notifications.test_flow import messages

    found = await member(core)
    async with core.transaction() as session:
        await emit(session, EventKind.POINTS_ACCRUED, found.id, {"points": 7}, core.clock.now())
    worker = Worker(core, channels(sms=DeliveryStatus.SENT, viber=DeliveryStatus.SENT, telegram=DeliveryStatus.SENT))
    await worker.process_outbox()
    await worker.send_due()
    sent = [m for m in await messages(core) if m.status == "sent"]
    assert sent
    async with app_client(create_app(with_token(settings), core=core)) as http:
        before = await scrape(http)
        assert await record_delivery_report(
            core,
            channel=sent[0].channel,
            provider_id=None,
            message_id=sent[0].id,
            status=DeliveryStatus.DELIVERED,
            error=None,
        )
        after = await scrape(http)
    labels = {"channel": sent[0].channel, "result": "delivered"}
    assert (
        value(after, "loyalty_delivery_reports_total", **labels)
        - value(before, "loyalty_delivery_reports_total", **labels)
        == 1
    )
