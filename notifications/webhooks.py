"""Sends due webhook deliveries (shared/webhooks.py plans them from the outbox): signed per the
Standard Webhooks convention, through the guarded session (https, public addresses only, no
redirects), with a bounded timeout. 2xx is delivered; 410 disables the endpoint; anything else is
retried with jittered exponential back-off until the delivery's deadline (three days), then failed.

A claim moves `next_attempt_at` past the request's timeout before anything is sent, so a worker
that dies mid-request leaves the delivery to be sent again (at least once; the receiver drops the
repeat by its `webhook-id`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from pydantic import SecretStr
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.outbound import guarded_session, refusal_of
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.webhooks import CANCELLED, DELIVERED, PENDING, WebhookDelivery, WebhookEndpoint
from shared.metrics import MESSAGES
from shared.outbound import OutboundRefused, loggable
from shared.webhooks import disable_endpoint, outcome_after_failure, plan_deliveries, sign

__all__ = ["WebhookSender"]

log = logging.getLogger("loyalty.webhooks")
_T = WebhookDelivery.__table__
_CLAIM = (
    update(_T).where(_T.c.id == bindparam("did")).values(next_attempt_at=bindparam("lease"), attempts=_T.c.attempts + 1)
)


@dataclass(frozen=True)
class _Job:
    delivery: WebhookDelivery
    url: str
    secret: SecretStr


@dataclass(frozen=True)
class _Answer:
    status: int | None
    error: str | None


class WebhookSender:
    """`wall` stamps `webhook-timestamp`: the receiver compares it with its own clock to refuse
    replays, so it is the real time even when the core runs "as of" another moment."""

    def __init__(self, core: Core, wall: Callable[[], float] = time.time) -> None:
        self.core = core
        self.wall = wall
        self.settings = core.settings.webhooks
        self.policy = self.settings.endpoint_policy
        self.postgres = core.engine.dialect.name == "postgresql"
        self._session: aiohttp.ClientSession | None = None
        if self.policy.insecure_hosts:
            log.warning(
                "webhooks may reach %s without https or address checks (LOYALTY_WEBHOOKS_ALLOW_HOSTS)",
                ", ".join(self.policy.insecure_hosts),
            )

    async def plan(self, core: Core, session: AsyncSession, events: list[OutboxEvent]) -> None:
        """A worker listener: the deliveries commit with the outbox batch that made them."""
        await plan_deliveries(session, self.settings, events, core.clock.now())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(self.policy, aiohttp.ClientTimeout(total=self.settings.request_timeout))
        return self._session

    async def _claim(self) -> list[_Job]:
        now = self.core.clock.now()
        lease = now + timedelta(seconds=self.settings.request_timeout + 30)
        async with self.core.transaction() as session:
            stmt = (
                select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookEndpoint.active,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self.settings.batch_size)
            )
            if self.postgres:
                stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
            jobs = [_Job(d, url, secret) for d, url, secret in (await session.execute(stmt)).all()]
            session.expunge_all()
            if jobs:
                await session.execute(_CLAIM, [{"did": j.delivery.id, "lease": lease} for j in jobs])
        for job in jobs:
            job.delivery.attempts += 1
        return jobs

    async def send_due(self) -> int:
        jobs = await self._claim()
        if not jobs:
            return 0
        answers = await asyncio.gather(*(self._post(job) for job in jobs))
        await self._record(jobs, answers)
        return len(jobs)

    async def _post(self, job: _Job) -> _Answer:
        delivery = job.delivery
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self.wall())
        headers = {
            "content-type": "application/json",
            "user-agent": "loyalty-webhooks/1",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(job.secret, delivery.webhook_id, timestamp, body),
        }
        try:
            self.policy.check_url(job.url)
            async with self._http().post(job.url, data=body, headers=headers, allow_redirects=False) as response:
                await response.content.read(4096)  # drain a little; the answer's body means nothing to us
                return _Answer(response.status, None if response.status < 300 else f"HTTP {response.status}")
        except OutboundRefused as exc:
            return _Answer(None, f"refused: {loggable(str(exc))}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            refusal = refusal_of(exc)
            if refusal is not None:
                return _Answer(None, f"refused: {loggable(str(refusal))}")
            return _Answer(None, loggable(f"{type(exc).__name__}: {exc}"))

    async def _record(self, jobs: list[_Job], answers: list[_Answer]) -> None:
        now = self.core.clock.now()
        async with self.core.transaction() as session:
            for job, answer in zip(jobs, answers, strict=True):
                await self._apply(session, job, answer, now)

    async def _apply(self, session: AsyncSession, job: _Job, answer: _Answer, now: datetime) -> None:
        delivery = job.delivery
        values: dict[str, object] = {"last_status_code": answer.status, "last_error": answer.error}
        if answer.status is not None and 200 <= answer.status < 300:
            values |= {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None, "last_error": None}
            outcome = "delivered"
        elif answer.status == 410:
            await disable_endpoint(session, delivery.endpoint_id, "the receiver answered 410 Gone", now)
            log.warning("webhook endpoint %s answered 410: disabled", delivery.endpoint_id)
            values |= {"status": CANCELLED, "next_attempt_at": None}
            outcome = "gone"
        else:
            status, when = outcome_after_failure(delivery, self.settings, now)
            values |= {"status": status, "next_attempt_at": when}
            outcome = "failed" if status != PENDING else "retry"
            log.info(
                "webhook %s to endpoint %s, attempt %d: %s",
                delivery.webhook_id,
                delivery.endpoint_id,
                delivery.attempts,
                answer.error,
            )
        MESSAGES.labels("webhook", "http", outcome).inc()
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))
