"""`loyalty webhooks listen`, the local receiver `make run` starts: it accepts what an independent
signer (the `standardwebhooks` package) signed with the endpoint's secret, once per webhook-id, and
refuses a changed body, an old timestamp, a missing signature and an oversize body; fed by the
worker, it receives each confirmed receipt of the demo's endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select
from standardwebhooks import Webhook

from loyalty.webhook_inbox import Inbox, ensure_demo_endpoint
from notifications.webhooks import WebhookSender
from notifications.worker import Worker
from shared.clock import FixedClock, SystemClock
from shared.config import Settings
from shared.core import Core
from shared.db.models.webhooks import WebhookEndpoint
from shared.webhooks import new_secret
from tests.e2e.notifications.test_webhooks import hooks_core, run_worker, sender, staff_client
from tests.e2e.test_cli import ROOT
from tests.integration.notifications.test_flow import channels
from tests.stubs.serving import free_port

pytestmark = pytest.mark.e2e
__all__ = ["hooks_core", "sender"]  # fixtures shared with the webhook tests


def signed(secret: str, body: bytes, webhook_id: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body.decode()),
        "content-type": "application/json",
    }


async def test_the_listener_accepts_signed_events_once_and_refuses_the_rest(settings: Settings, tmp_path: Path) -> None:
    secret = new_secret().get_secret_value()
    secret_file, out = tmp_path / "secret", tmp_path / "hooks.jsonl"
    secret_file.write_text(secret + "\n")
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE_URL": settings.db_url, "LOYALTY_VAR_DIR": str(settings.var_dir)}
    args = ["webhooks", "listen", "--port", str(port), "--secret-file", str(secret_file), "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "loyalty.cli", *args], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/hooks"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(100):
                try:
                    await http.post(url, content=b"{}")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)  # noqa: ASYNC251 - waiting for another process to listen
            body = json.dumps({"type": "purchase.confirmed", "timestamp": "t", "data": {"receipt_id": "A-1"}}).encode()
            now = datetime.now(UTC)
            good = signed(secret, body, "msg_1", now)
            assert (await http.post(url, content=body, headers=good)).status_code == 204
            assert (await http.post(url, content=body, headers=good)).status_code == 204  # a retry: dropped
            changed = body.replace(b"A-1", b"A-2")
            assert (await http.post(url, content=changed, headers=good)).status_code == 400
            old = signed(secret, body, "msg_2", now - timedelta(minutes=10))
            assert (await http.post(url, content=body, headers=old)).status_code == 400
            other = signed(new_secret().get_secret_value(), body, "msg_3", now)
            assert (await http.post(url, content=body, headers=other)).status_code == 400
            unsigned = {k: v for k, v in good.items() if k != "webhook-signature"} | {"webhook-id": "msg_4"}
            assert (await http.post(url, content=body, headers=unsigned)).status_code == 400
            huge = b'{"pad": "' + b"x" * 300_000 + b'"}'
            assert (await http.post(url, content=huge, headers=signed(secret, huge, "msg_5", now))).status_code == 413
    finally:
        process.terminate()
        process.wait(timeout=10)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["webhook_id"], r["type"], r["data"]) for r in lines] == [
        ("msg_1", "purchase.confirmed", {"receipt_id": "A-1"})
    ]
    assert out.stat().st_mode & 0o777 == 0o600


async def test_the_demo_endpoint_is_made_once_and_its_inbox_gets_each_receipt(
    hooks_core: Core, clock: FixedClock, sender: WebhookSender, tmp_path: Path
) -> None:
    core = hooks_core
    port = free_port()
    url, secret_file, out = f"http://127.0.0.1:{port}/hooks", tmp_path / "secret", tmp_path / "hooks.jsonl"
    await ensure_demo_endpoint(core, url, secret_file)
    first = secret_file.read_text()
    await ensure_demo_endpoint(core, url, secret_file)  # `make run` again: the same endpoint and secret
    assert secret_file.read_text() == first
    async with core.reading() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookEndpoint))).scalar_one() == 1

    inbox = Inbox(SecretStr(first), out, SystemClock())  # the sender stamps wall-clock time
    runner = web.AppRunner(inbox.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with await staff_client(core) as api:
            member = await api.post("/api/v1/members", json={"phone": "+79123456789"})
            member_id = member.json()["id"]
            line = {"sku": "1", "name": "Wine", "quantity": 1, "price": 100_000, "amount": 100_000}
            for receipt_id in ("A-1", "A-2"):
                receipt = {
                    "store_id": "msk-001",
                    "receipt_id": receipt_id,
                    "member": {"member_id": member_id},
                    "lines": [line],
                }
                assert (await api.post("/api/v1/purchases", json=receipt)).status_code == 201
        await run_worker(Worker(core, channels(), webhooks=sender), clock, rounds=3)  # type: ignore[arg-type]
    finally:
        await runner.cleanup()
    events = [json.loads(line) for line in out.read_text().splitlines()]
    confirmed = [e["data"]["receipt_id"] for e in events if e["type"] == "purchase.confirmed"]
    assert sorted(confirmed) == ["A-1", "A-2"]
    assert {e["type"] for e in events} >= {"member.registered", "purchase.confirmed"}
    assert len({e["webhook_id"] for e in events}) == len(events)
    assert uuid.UUID(events[0]["data"]["member_id"])
