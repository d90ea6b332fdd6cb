"""SMS and Viber through an SMSC.ru-style HTTP aggregator (aiohttp, pooled connections).

The aggregator gets our message id as its client reference (``id``), so a delivery report names the
message directly and a repeated request is recognisable. Transient trouble (5xx, timeouts, rate limits)
puts the channel in a growing cool-down, during which sends fail fast instead of hammering the provider:
aggregators punish error bursts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from shared.config import SmsSettings
from shared.phones import mask_phone

log = logging.getLogger(__name__)

# SMSC error codes: permanent for this recipient/text vs worth retrying later.
PERMANENT_ERRORS = {1: "parameters", 6: "message prohibited", 7: "invalid number", 8: "undeliverable number"}
TRANSIENT_ERRORS = {
    2: "authorisation",
    3: "insufficient funds",
    4: "ip blocked",
    5: "date format",
    9: "rate limited",
}


class Cooldown:
    """Exponential pause after transient failures (1 s, 2 s, ... up to ``ceiling``, or longer when the
    provider asked for it); reset on success."""

    def __init__(self, first: float = 1.0, ceiling: float = 120.0) -> None:
        self.first, self.ceiling = first, ceiling
        self.delay = 0.0
        self.until = 0.0

    def remaining(self) -> float:
        return max(0.0, self.until - time.monotonic())

    def failed(self, hint: float | None = None) -> float:
        self.delay = max(min(self.ceiling, max(self.first, self.delay * 2)), hint or 0.0)
        self.until = time.monotonic() + self.delay
        return self.delay

    def succeeded(self) -> None:
        self.delay, self.until = 0.0, 0.0


class SmscChannel:
    """One aggregator account as an SMS channel, or (``viber=True``) as a Viber channel."""

    def __init__(self, settings: SmsSettings, *, name: str = "sms", viber: bool = False) -> None:
        self.name = name
        self.viber = viber
        self.settings = settings
        self.batch_size = settings.batch_size
        self.cooldown = Cooldown()
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self.settings.api_url.rstrip("/") + "/",
                connector=aiohttp.TCPConnector(limit=self.settings.max_connections, keepalive_timeout=60),
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout),
            )
        return self._session

    def _auth(self) -> dict[str, str]:
        password = self.settings.password.get_secret_value() if self.settings.password else ""
        fields = {"login": self.settings.login or "", "psw": password, "sender": self.settings.sender}
        if self.viber:
            fields["viber"] = "1"
        return fields

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if (wait := self.cooldown.remaining()) > 0:
            return DeliveryResult(DeliveryStatus.FAILED, error="cooling down", retry_after=wait)
        form = {
            **self._auth(),
            "phones": message.to,
            "mes": message.text,
            "id": str(message.id),
            "fmt": "3",
            "charset": "utf-8",
            "cost": "3",
        }
        answer = await self._post("sys/send.php", data=form)
        if isinstance(answer, DeliveryResult):
            return answer
        return self._settle([self._result(answer, message)])[0]

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        if self.batch_size == 1:  # an aggregator without our list request: one send.php call each,
            return list(await asyncio.gather(*(self.send(m) for m in messages)))  # pooled connections
        results: list[DeliveryResult] = []
        for start in range(0, len(messages), self.batch_size):
            results.extend(await self._send_chunk(messages[start : start + self.batch_size]))
        return results

    async def _send_chunk(self, chunk: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        if (wait := self.cooldown.remaining()) > 0:
            return [DeliveryResult(DeliveryStatus.FAILED, error="cooling down", retry_after=wait)] * len(chunk)
        body = {
            **self._auth(),
            "fmt": 3,
            "list": [{"id": str(m.id), "phone": m.to, "mes": m.text} for m in chunk],
        }
        answer = await self._post(
            "rest/send_list/",
            data=json.dumps(body, ensure_ascii=False),
            headers={"Content-Type": "application/json"},
        )
        if isinstance(answer, DeliveryResult):
            return [answer] * len(chunk)
        if "results" not in answer:  # the whole request refused (e.g. authorisation)
            return self._settle([self._result(answer, m) for m in chunk])
        by_id = {str(item.get("id")): item for item in answer["results"] if isinstance(item, dict)}
        return self._settle(
            [self._result(by_id.get(str(m.id), {"error": "missing", "error_code": 0}), m) for m in chunk]
        )

    async def lookup(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult | None]:
        """Did the aggregator already take these (sent by a worker that died before recording it)?
        Asked by our id; None means "not there, send it", a FAILED result means "can't tell yet"."""
        results: list[DeliveryResult | None] = []
        for message in messages:
            form = {**self._auth(), "phone": message.to, "id": str(message.id), "fmt": "3"}
            answer = await self._post("sys/status.php", data=form)
            if isinstance(answer, DeliveryResult):
                results.append(answer)
            elif "status" in answer:
                results.append(DeliveryResult(DeliveryStatus.SENT, provider_id=str(message.id)))
            elif _int(answer.get("error_code")) == 5:  # message not found
                results.append(None)
            else:
                results.append(DeliveryResult(DeliveryStatus.FAILED, error=str(answer.get("error"))))
        return results

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any] | DeliveryResult:
        """POST and decode; a transport problem becomes a FAILED result and starts the cool-down."""
        try:
            async with self._http().post(path, **kwargs) as response:
                if response.status == 429 or response.status >= 500:
                    hint = _retry_after(response.headers.get("Retry-After"))
                    return self._transient(f"http {response.status}", hint)
                if response.status >= 400:
                    return DeliveryResult(
                        DeliveryStatus.FAILED,
                        error=f"http {response.status}",
                        retry_after=self.cooldown.failed(),
                    )
                answer = await response.json(content_type=None)
        except (aiohttp.ClientConnectorError, ValueError) as exc:  # never reached it, or nonsense back
            return self._transient(type(exc).__name__)
        except (aiohttp.ClientError, TimeoutError) as exc:  # the request may have been taken
            return replace(self._transient(type(exc).__name__), ambiguous=True)
        return answer if isinstance(answer, dict) else self._transient("malformed answer")

    def _transient(self, error: str, hint: float | None = None) -> DeliveryResult:
        delay = self.cooldown.failed(hint)
        log.warning("%s provider trouble (%s): pausing %.0f s", self.name, error, delay)
        return DeliveryResult(DeliveryStatus.FAILED, error=error, retry_after=delay)

    def _result(self, item: dict[str, Any], message: OutgoingMessage) -> DeliveryResult:
        if "error_code" in item or "error" in item:
            code = _int(item.get("error_code"))
            if code in PERMANENT_ERRORS:
                log.info("%s to %s refused: %s", self.name, mask_phone(message.to), PERMANENT_ERRORS[code])
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=PERMANENT_ERRORS[code])
            reason = TRANSIENT_ERRORS.get(code, f"error {code}: {item.get('error')}")
            return DeliveryResult(DeliveryStatus.FAILED, error=reason, retry_after=60.0 if code == 9 else None)
        return DeliveryResult(
            DeliveryStatus.SENT,
            provider_id=str(item.get("id", message.id)),
            cost_parts=_int(item.get("cnt")) or 1,
        )

    def _settle(self, results: list[DeliveryResult]) -> list[DeliveryResult]:
        """Rate-limit or account errors pause the channel; any accepted message resets the pause."""
        if any(r.status is DeliveryStatus.SENT for r in results):
            self.cooldown.succeeded()
            return results
        if not any(r.status is DeliveryStatus.FAILED for r in results):
            return results
        delay = self.cooldown.failed(max((r.retry_after or 0.0) for r in results))
        return [
            DeliveryResult(r.status, r.provider_id, r.error, r.cost_parts, r.retry_after or delay)
            if r.status is DeliveryStatus.FAILED
            else r
            for r in results
        ]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)  # let the connector close its sockets


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
