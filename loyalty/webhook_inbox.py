"""`loyalty webhooks listen`: a receiver for the program's own webhooks, to try an integration out
and to watch them in `make run`. It checks every request's signature and age
(`shared.webhooks.verify`, the same rules an integrator's receiver should follow), answers 400 to
anything else, drops repeats by `webhook-id` (delivery is at least once), and appends each event it
accepted to a JSON-lines file."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from shared.clock import Clock
from shared.core import Core
from shared.db.models.webhooks import WebhookEndpoint
from shared.files import write_private
from shared.webhooks import EVENTS, BadSignature, create_endpoint, verify

log = logging.getLogger("loyalty.webhooks.inbox")
MAX_BODY = 256 * 1024  # our own events are a few hundred bytes


class Inbox:
    """Accepts signed events once each and keeps them in `out` (0600: they name members by id)."""

    def __init__(self, secret: SecretStr, out: Path, clock: Clock) -> None:
        self.secret, self.out, self.clock = secret, out, clock
        self.seen: set[str] = set()
        if out.exists():  # a restarted receiver still drops what it accepted before
            for line in out.read_text(encoding="utf-8").splitlines():
                try:
                    self.seen.add(str(json.loads(line)["webhook_id"]))
                except (ValueError, KeyError, TypeError):
                    continue

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()  # past client_max_size aiohttp answers 413 itself
        now = self.clock.now()
        try:
            payload = verify(self.secret, {k.lower(): v for k, v in request.headers.items()}, body, now)
        except BadSignature as exc:
            log.warning("refused a webhook request: %s", exc)
            return web.Response(status=400, text=str(exc))
        webhook_id = request.headers["webhook-id"]
        if webhook_id not in self.seen:
            self.seen.add(webhook_id)
            self._append(webhook_id, payload, now)
        return web.Response(status=204)

    def _append(self, webhook_id: str, payload: dict[str, Any], now: datetime) -> None:
        record = {
            "webhook_id": webhook_id,
            "type": payload.get("type"),
            "timestamp": payload.get("timestamp"),
            "received_at": now.isoformat(),
            "data": payload.get("data"),
        }
        fd = os.open(self.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/{tail:.*}", self.receive)
        return app


async def ensure_demo_endpoint(core: Core, url: str, secret_file: Path) -> None:
    """`make run`'s endpoint for every event at the local inbox, made once; its secret in `secret_file`."""
    async with core.transaction() as session:
        endpoint = (await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.url == url))).scalars().first()
        if endpoint is None:
            endpoint = await create_endpoint(session, core.settings.webhooks, url, list(EVENTS), core.clock.now())
        write_private(secret_file, endpoint.secret.get_secret_value())
