"""GET /metrics (Prometheus text format) and the middleware that times every request.

The endpoint answers only with `Authorization: Bearer <LOYALTY_METRICS_TOKEN>`; without a token
configured it does not exist (404). Counters come from this process, or from every process
writing into PROMETHEUS_MULTIPROC_DIR when it is set; the outbox depth, the age of the oldest queued
message, the worker heartbeat and the certificates' days left are read when scraped."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from notifications.liveness import heartbeats, lease_holder
from shared.config import Settings
from shared.core import Core
from shared.db.models import OutboxEvent
from shared.db.models.messages import FAILED, QUEUED, SENDING
from shared.db.models.messages import Message as OutboxMessage
from shared.metrics import DB_POOL_IN_USE, HTTP_DURATION, HTTP_REQUESTS
from webapp.deps import CoreDep, SettingsDep
from webapp.health import certificates
from webapp.logs import REQUEST_ID, request_id_from

UNMATCHED = "<unmatched>"
LABEL_CACHE_MAX = 1024  # (method, route, status) triples whose metric children are kept


def registry() -> CollectorRegistry:
    """This process's registry, or one adding up every process's files in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]  # prometheus_client is untyped here
    return combined


class _Snapshot:
    """Gauges computed from the database for one scrape (collectors cannot await)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def pool_in_use(core: Core) -> int:
    checkedout = getattr(core.engine.pool, "checkedout", None)
    return int(checkedout()) if callable(checkedout) else 0


async def database_metrics(core: Core, settings: Settings) -> list[Metric]:
    now = core.clock.now()
    depth = GaugeMetricFamily(
        "loyalty_outbox_messages", "Messages waiting or in flight, by channel and state", labels=["channel", "state"]
    )
    oldest = GaugeMetricFamily(
        "loyalty_outbox_oldest_queued_seconds", "Age of the oldest queued message, by channel", labels=["channel"]
    )
    events = GaugeMetricFamily("loyalty_outbox_events_pending", "Domain events the worker has not planned yet")
    events_age = GaugeMetricFamily("loyalty_outbox_events_oldest_seconds", "Age of the oldest unplanned event")
    beat = GaugeMetricFamily("loyalty_worker_heartbeat_age_seconds", "Seconds since the freshest worker heartbeat")
    leader = GaugeMetricFamily("loyalty_scheduler_lease_held", "1 when a worker holds the scheduler lease")
    async with core.reading() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.channel, OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
                .where(OutboxMessage.status.in_((QUEUED, SENDING, FAILED)))
                .group_by(OutboxMessage.channel, OutboxMessage.status)
            )
        ).all()
        pending, first = (
            await session.execute(
                select(func.count(), func.min(OutboxEvent.created_at)).where(OutboxEvent.processed_at.is_(None))
            )
        ).one()
    seen: set[str] = set()
    for channel, state, count, created in rows:
        depth.add_metric([channel, state], count)
        if state == QUEUED and created is not None:
            oldest.add_metric([channel], max(0.0, (now - _aware(created)).total_seconds()))
            seen.add(channel)
    events.add_metric([], pending)
    events_age.add_metric([], max(0.0, (now - _aware(first)).total_seconds()) if first is not None else 0)
    beats = await heartbeats(core)
    if beats:
        beat.add_metric([], max(0.0, (now - beats[0].last_seen).total_seconds()))
    leader.add_metric([], 1 if await lease_holder(core) is not None else 0)
    certs = GaugeMetricFamily(
        "loyalty_certificate_days_left", "Days until a configured certificate expires", labels=["certificate"]
    )
    warn = GaugeMetricFamily(
        "loyalty_certificate_expiry_warning",
        "1 when a certificate expires within LOYALTY_CERT_WARNING_DAYS (or is unreadable)",
        labels=["certificate"],
    )
    for cert in certificates(settings, now):
        if cert.days_left is not None:
            certs.add_metric([cert.name], cert.days_left)
        warn.add_metric([cert.name], 1 if cert.warning(settings) else 0)
    return [depth, oldest, events, events_age, beat, leader, certs, warn]


def _aware(moment: Any) -> Any:
    from datetime import UTC, datetime

    if isinstance(moment, str):  # SQLite aggregates come back as text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def render(core: Core, settings: Settings, with_database: bool = True) -> bytes:
    DB_POOL_IN_USE.set(pool_in_use(core))
    body = generate_latest(registry())
    if with_database:
        snapshot = CollectorRegistry(auto_describe=False)
        snapshot.register(_Snapshot(await database_metrics(core, settings)))
        body += generate_latest(snapshot)
    return body


def authorised(settings: Settings, header: str | None) -> bool:
    token = settings.metrics_token
    if token is None:
        return False
    expected = "Bearer " + token.get_secret_value()
    return header is not None and hmac.compare_digest(header.encode(), expected.encode())


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep) -> Response[bytes]:
    if settings.metrics_token is None:
        raise NotFoundException()
    if not authorised(settings, request.headers.get("authorization")):
        return Response(
            b"unauthorised\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = await render(core, settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class ObserveMiddleware:
    """Outermost ASGI wrapper: a request id (kept from X-Request-ID when sane, returned in the
    response), the request count and duration by route template, and the access log.

    It runs for every request, so it keeps the per-request work small: the metric children for a
    (method, route, status) are looked up once and kept (bounded, see LABEL_CACHE_MAX)."""

    def __init__(self, app: ASGIApp, settings: Settings, core: Core) -> None:
        import logging

        self.app = app
        self.core = core
        self.access_log = logging.getLogger("loyalty.access") if settings.access_log else None
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observers(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        found = self._children.get(key)
        if found is None:
            found = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route, str(status)))
            if len(self._children) < LABEL_CACHE_MAX:  # odd methods from clients must not grow it forever
                self._children[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from(incoming)
        id_header = (b"x-request-id", request_id.encode())
        token = REQUEST_ID.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = scope.get("method", "GET")
            requests, duration = self._observers(method, route, status)
            requests.inc()
            duration.observe(elapsed)
            DB_POOL_IN_USE.set(pool_in_use(self.core))
            if self.access_log is not None:
                client = scope.get("client")
                self.access_log.info(
                    "%s %s %s %.1f ms",
                    method,
                    route,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                        "client": client[0] if client else None,
                    },
                )
            REQUEST_ID.reset(token)
