"""Web Push (RFC 8030/8291/8292) with pywebpush's aiohttp path: aes128gcm payloads, VAPID-signed.

``OutgoingMessage.to`` is the subscription JSON. When the push service answers 404/410 the browser
unsubscribed: the subscription row is deleted (when the channel has the core) and the message is
UNDELIVERABLE; 429/5xx are FAILED (transient). Only endpoints shared.outbound allows are called:
the URL is checked before each request (redirects too) and the host's addresses after DNS, at
connect time; a refused endpoint is UNDELIVERABLE and nothing is sent. What a push service answers
is logged capped and sanitised, never verbatim.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import aiohttp
from pywebpush import WebPusher, WebPushException

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.outbound import guarded_session, refusal_of
from notifications.push_subscriptions import push_policy, remove_subscription
from notifications.vapid_keys import load_vapid, vapid_public_key
from shared.config import Settings
from shared.core import Core
from shared.outbound import OutboundRefused, UnsafeURL, loggable

__all__ = ["WebPushChannel", "vapid_public_key"]
log = logging.getLogger(__name__)
GONE = frozenset({404, 410})
VAPID_LIFETIME = 12 * 3600


class WebPushChannel:
    name = "push"
    batch_size = 1

    def __init__(self, settings: Settings, core: Core | None = None) -> None:
        self.settings = settings
        self.core = core
        self.vapid = load_vapid(settings)
        self.policy = push_policy(settings)
        if self.policy.insecure_hosts:
            log.warning(
                "web push may reach %s without https or address checks (LOYALTY_PUSH_ALLOW_INSECURE_HOSTS):"
                " for tests only",
                ", ".join(self.policy.insecure_hosts),
            )
        self._headers: dict[str, tuple[float, dict[str, str]]] = {}  # audience -> (expires, headers)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(self.policy, self._timeout())
        return self._session

    def _timeout(self) -> aiohttp.ClientTimeout:
        """A connect timeout of its own, so a push that never reached the service is told apart."""
        total = self.settings.push.request_timeout
        return aiohttp.ClientTimeout(total=total, sock_connect=min(total, 10))

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        """Sign once per push service and reuse until an hour before the token expires."""
        url = urlparse(endpoint)
        audience = f"{url.scheme}://{url.netloc}"
        cached = self._headers.get(audience)
        if cached and cached[0] > time.time() + 3600:
            return cached[1]
        expires = int(time.time()) + VAPID_LIFETIME
        headers: dict[str, str] = self.vapid.sign(
            {"aud": audience, "exp": expires, "sub": self.settings.push.vapid_subject}
        )
        self._headers[audience] = (expires, headers)
        return headers

    @staticmethod
    def payload(message: OutgoingMessage) -> str:
        body = {
            "title": message.subject or "",
            "body": message.text,
            "tag": message.kind,
            "url": message.meta.get("url"),
            "id": message.id,
        }
        return json.dumps({k: v for k, v in body.items() if v is not None}, ensure_ascii=False)

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        try:
            subscription: dict[str, Any] = json.loads(message.to)
            endpoint = str(subscription["endpoint"])
            self.policy.check_url(endpoint)  # rows stored before the allow-list are checked here
            pusher = WebPusher(subscription, aiohttp_session=self._http())
        except UnsafeURL as exc:
            return self._refused(message, exc)
        except (ValueError, KeyError, TypeError, WebPushException):
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="invalid subscription")
        try:
            response = await pusher.send_async(
                self.payload(message),
                dict(self._vapid_headers(endpoint)),
                ttl=self.settings.push.ttl_seconds,
                content_encoding="aes128gcm",
                timeout=self._timeout(),
            )
            assert isinstance(response, aiohttp.ClientResponse)
            async with response:
                status = response.status
                provider_id = response.headers.get("Location")
                detail = loggable(await response.text(errors="replace")) if status > 202 else ""
        except (aiohttp.ClientError, TimeoutError, OutboundRefused) as exc:
            refusal = refusal_of(exc)
            if refusal is not None:  # resolved to a private address, or redirected off the allow-list
                return self._refused(message, refusal)
            # timed out or cut off once connected: the push service may have taken it (no way to ask)
            doubt = not isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
            return DeliveryResult(DeliveryStatus.FAILED, error=type(exc).__name__, retry_after=30.0, ambiguous=doubt)
        if status <= 202:
            return DeliveryResult(DeliveryStatus.SENT, provider_id=provider_id)
        if status in GONE:
            await self._forget(endpoint)
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"subscription gone ({status})")
        if status == 429 or status >= 500:
            retry = response.headers.get("Retry-After")
            return DeliveryResult(
                DeliveryStatus.FAILED,
                error=f"http {status}",
                retry_after=float(retry) if retry and retry.isdigit() else 60.0,
            )
        log.warning("push service refused message %s: %s %r", message.id, status, detail)
        if status in (401, 403):  # our VAPID key or claims: fix the configuration, then retry
            return DeliveryResult(DeliveryStatus.FAILED, error=f"http {status}", retry_after=300.0)
        return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"http {status}")

    @staticmethod
    def _refused(message: OutgoingMessage, refusal: OutboundRefused) -> DeliveryResult:
        """Never sent: the endpoint is not a push service we may call (permanent, no retry)."""
        log.warning("push message %s not sent: %s", message.id, loggable(str(refusal)))
        return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=f"endpoint refused: {loggable(str(refusal))}")

    async def _forget(self, endpoint: str) -> None:
        if self.core is None:
            return
        async with self.core.transaction() as session:
            await remove_subscription(session, endpoint)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
