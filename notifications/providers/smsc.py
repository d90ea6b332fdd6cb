"""SMS and Viber through SMSC.ru's HTTP API (aiohttp, pooled connections); the contract as documented is
written down in ``tests/stubs/smsc.py``.

SMSC identifies a message by (``id``, phone), one id per request. A single send uses our message id; a
batch is one ``send.php`` request with the ``list`` form (one ``phone:text`` line per message, each phone
once per request) under the id of its first message. The provider id we keep is ``"<id>:<phone digits>"``,
which is what a delivery report (``id`` and ``phone``) and ``status.php`` name. A refusal of a whole
batch for one message's sake (6 denied text, 1 parameters, 7/8 numbers) is retried as single sends, so
only that message fails. Transient trouble (5xx, timeouts, error 9) puts the channel in a growing
cool-down, during which sends fail fast instead of hammering the provider: aggregators punish error bursts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.sms_parts import count_parts
from shared.config import SmsSettings
from shared.phones import mask_phone

log = logging.getLogger(__name__)

NOT_FOUND = -3  # status.php: no message with this id for this phone
BLAME_ONE = {1, 6, 7, 8}  # a batch refused with these is retried message by message
# SMSC error codes: permanent for this recipient/text vs worth retrying later.
PERMANENT_ERRORS = {1: "parameters", 6: "message prohibited", 7: "invalid number", 8: "undeliverable number"}
TRANSIENT_ERRORS = {
    2: "authorisation",
    3: "insufficient funds",
    4: "ip blocked",
    5: "date format",
    9: "too many concurrent requests",
}


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def smsc_reference(smsc_id: str | int, phone: str) -> str:
    """Our provider id for one SMSC message: its request id and the phone, as reports name them."""
    return f"{smsc_id}:{_digits(phone)}"


def list_form(messages: Sequence[OutgoingMessage]) -> str:
    """The ``list`` parameter: ``phone:text`` per line, a newline in a text written as ``\\n``."""
    return "\n".join(f"{_digits(m.to)}:{m.text.replace(chr(13), '').replace(chr(10), chr(92) + 'n')}" for m in messages)


def batches(messages: Sequence[OutgoingMessage], size: int) -> list[list[OutgoingMessage]]:
    """Requests of up to ``size`` messages in id order, each phone at most once per request (SMSC tells
    messages apart by id and phone). Deterministic, so ``lookup`` finds the id a batch was sent under."""
    pending = sorted(messages, key=lambda m: m.id)
    out: list[list[OutgoingMessage]] = []
    while pending:
        chunk: list[OutgoingMessage] = []
        phones: set[str] = set()
        rest: list[OutgoingMessage] = []
        for message in pending:
            if len(chunk) < size and _digits(message.to) not in phones:
                chunk.append(message)
                phones.add(_digits(message.to))
            else:
                rest.append(message)
        out.append(chunk)
        pending = rest
    return out


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
        fields = {
            "login": self.settings.login or "",
            "psw": password,
            "sender": self.settings.sender,
            "fmt": "3",
            "charset": "utf-8",
            "cost": "3",
            "op": "1",
        }
        if self.viber:
            fields["viber"] = "1"
        return fields

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if (wait := self.cooldown.remaining()) > 0:
            return DeliveryResult(DeliveryStatus.FAILED, error="cooling down", retry_after=wait)
        form = {**self._auth(), "phones": _digits(message.to), "mes": message.text, "id": str(message.id)}
        answer = await self._post("sys/send.php", data=form)
        if isinstance(answer, DeliveryResult):
            return answer
        return self._settle([self._result(answer, message, str(message.id))])[0]

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        if self.batch_size == 1:  # one send.php call each, over pooled connections
            return list(await asyncio.gather(*(self.send(m) for m in messages)))
        by_id: dict[int, DeliveryResult] = {}
        for chunk in batches(messages, self.batch_size):
            for message, result in zip(chunk, await self._send_chunk(chunk), strict=True):
                by_id[message.id] = result
        return [by_id[m.id] for m in messages]

    async def _send_chunk(self, chunk: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        if len(chunk) == 1:
            return [await self.send(chunk[0])]
        if (wait := self.cooldown.remaining()) > 0:
            return [DeliveryResult(DeliveryStatus.FAILED, error="cooling down", retry_after=wait)] * len(chunk)
        ref = str(chunk[0].id)
        answer = await self._post("sys/send.php", data={**self._auth(), "list": list_form(chunk), "id": ref})
        if isinstance(answer, DeliveryResult):
            return [answer] * len(chunk)
        if _int(answer.get("error_code")) in BLAME_ONE:  # nothing was sent: find the one it is about
            log.info("%s batch %s refused (%s): sending its messages one by one", self.name, ref, answer.get("error"))
            return [await self.send(m) for m in chunk]
        if "error_code" in answer or "error" in answer:
            return self._settle([self._result(answer, m, ref) for m in chunk])
        refused = {
            _digits(str(item.get("phone", ""))): item
            for item in answer.get("phones", [])
            if isinstance(item, dict) and "error" in item
        }
        return self._settle(
            [
                self._result({"error": "invalid number", "error_code": 7}, m, ref)
                if _digits(m.to) in refused
                else self._accepted(m, ref, count_parts(m.text))
                for m in chunk
            ]
        )

    async def lookup(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult | None]:
        """Did SMSC already take these (sent by a worker that died before recording it)? Asked through
        ``status.php`` by (id, phone) under each id the message may have gone with: its own, and its
        batch's. None means "not there, send it", a FAILED result means "can't tell yet"."""
        candidates: dict[int, list[str]] = {m.id: [str(m.id)] for m in messages}
        if self.batch_size > 1:
            for chunk in batches(messages, self.batch_size):
                for message in chunk[1:]:
                    candidates[message.id].append(str(chunk[0].id))
        pairs = [(m, ref) for m in messages for ref in candidates[m.id]]
        if len(pairs) == 1:
            form = {**self._auth(), "phone": _digits(messages[0].to), "id": pairs[0][1], "fmt": "3"}
        else:
            form = {**self._auth(), "list": "\n".join(f"{_digits(m.to)},{ref}" for m, ref in pairs), "fmt": "3"}
        answer = await self._post("sys/status.php", data=form)
        if isinstance(answer, DeliveryResult):
            return [answer] * len(messages)
        if isinstance(answer, dict) and _int(answer.get("error_code")) == 3:  # one message, not found
            return [None]
        if isinstance(answer, dict) and ("error" in answer or "error_code" in answer):
            return [DeliveryResult(DeliveryStatus.FAILED, error=str(answer.get("error")))] * len(messages)
        items = answer if isinstance(answer, list) else [answer | {"id": pairs[0][1], "phone": messages[0].to}]
        found: dict[tuple[str, str], dict[str, Any]] = {
            (str(item.get("id")), _digits(str(item.get("phone", "")))): item for item in items if isinstance(item, dict)
        }
        results: list[DeliveryResult | None] = []
        for message in messages:
            result: DeliveryResult | None = None
            for ref in candidates[message.id]:
                item = found.get((ref, _digits(message.to)))
                if item is not None and "status" in item and _int(item["status"]) != NOT_FOUND:
                    result = DeliveryResult(DeliveryStatus.SENT, provider_id=smsc_reference(ref, message.to))
                    break
                if item is None or "error" in item:
                    result = DeliveryResult(DeliveryStatus.FAILED, error="status unknown")
            results.append(result)
        return results

    async def _post(self, path: str, **kwargs: Any) -> Any:
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
        if isinstance(answer, dict) or (isinstance(answer, list) and path.endswith("status.php")):
            return answer
        return self._transient("malformed answer")

    def _transient(self, error: str, hint: float | None = None) -> DeliveryResult:
        delay = self.cooldown.failed(hint)
        log.warning("%s provider trouble (%s): pausing %.0f s", self.name, error, delay)
        return DeliveryResult(DeliveryStatus.FAILED, error=error, retry_after=delay)

    def _result(self, item: dict[str, Any], message: OutgoingMessage, ref: str) -> DeliveryResult:
        if "error_code" in item or "error" in item:
            code = _int(item.get("error_code"))
            if code in PERMANENT_ERRORS:
                log.info("%s to %s refused: %s", self.name, mask_phone(message.to), PERMANENT_ERRORS[code])
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=PERMANENT_ERRORS[code])
            reason = TRANSIENT_ERRORS.get(code, f"error {code}: {item.get('error')}")
            return DeliveryResult(DeliveryStatus.FAILED, error=reason, retry_after=60.0 if code == 9 else None)
        return self._accepted(message, ref, _int(item.get("cnt")) or count_parts(message.text))

    @staticmethod
    def _accepted(message: OutgoingMessage, ref: str, parts: int) -> DeliveryResult:
        return DeliveryResult(DeliveryStatus.SENT, provider_id=smsc_reference(ref, message.to), cost_parts=parts)

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
