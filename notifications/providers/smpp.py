"""SMS over SMPP 3.4 (smpplib): one bound transceiver session, a reader thread, asyncio futures.

smpplib is blocking, so a thread reads PDUs (answering enquire_link and sending our own when idle)
and hands submit_sm_resp / deliver_sm receipts to the event loop. Cyrillic goes as UCS-2, long texts
as UDH-concatenated parts; the message's provider id is the SMSC id of its first part. Delivery
receipts become ``record_delivery_report`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.providers.smsc import Cooldown
from shared.config import SmsSettings
from shared.phones import mask_phone

log = logging.getLogger(__name__)
Recorder = Callable[..., Awaitable[bool]]
ESME_ROK = 0
SMSC_DELIVERY_RECEIPT = 0x04  # esm_class bit of a deliver_sm carrying a delivery receipt
SMPP_ERRORS = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError)
PERMANENT = {0x0B: "invalid number", 0x0C: "invalid number", 0x42: "invalid message", 0x62: "invalid message"}
TRANSIENT = {0x08: "smsc error", 0x14: "smsc queue full", 0x58: "throttled", 0x45: "submit failed"}
RECEIPT_STATES: dict[str, tuple[DeliveryStatus, str | None]] = {
    "DELIVRD": (DeliveryStatus.DELIVERED, None),
    "UNDELIV": (DeliveryStatus.UNDELIVERABLE, "undeliverable"),
    "REJECTD": (DeliveryStatus.UNDELIVERABLE, "rejected"),
    "EXPIRED": (DeliveryStatus.FAILED, "expired"),
    "DELETED": (DeliveryStatus.FAILED, "deleted"),
    "UNKNOWN": (DeliveryStatus.FAILED, "unknown"),
    "ACCEPTD": (DeliveryStatus.SENT, None),
    "ENROUTE": (DeliveryStatus.SENT, None),
}
RECEIPT = re.compile(rb"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)(?:.*?err:(?P<err>\w+))?", re.S)


def parse_receipt(short_message: bytes, receipted_id: bytes | str | None = None) -> tuple[str, str, str] | None:
    """(smsc message id, stat, err) from a deliver_sm receipt text, preferring the TLV id when given."""
    found = RECEIPT.search(short_message or b"")
    if found is None:
        return None
    ref = receipted_id.decode() if isinstance(receipted_id, bytes) else receipted_id
    return (ref or found["id"].decode(), found["stat"].decode(), (found["err"] or b"").decode())


class SmppChannel:
    batch_size = 1

    def __init__(
        self,
        settings: SmsSettings,
        *,
        core: Any = None,
        recorder: Recorder | None = None,
        name: str = "sms",
        enquire_interval: float = 30.0,
        response_timeout: float = 10.0,
    ) -> None:
        self.name, self.settings, self.core, self.recorder = name, settings, core, recorder
        self.enquire_interval, self.response_timeout = enquire_interval, response_timeout
        self.cooldown = Cooldown()
        self._client: smpplib.client.Client | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._bind_lock = asyncio.Lock()
        self._waiting: dict[int, asyncio.Future[tuple[int, str]]] = {}
        self._parts: dict[str, tuple[int, str]] = {}  # smsc part id -> (message id, first part id)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- session ---------------------------------------------------------------------------------
    async def _ensure_bound(self) -> smpplib.client.Client:
        async with self._bind_lock:
            if self._client is not None:
                return self._client
            self._loop = asyncio.get_running_loop()
            client = await asyncio.to_thread(self._bind)
            self._client = client
            self._reader = threading.Thread(target=self._read, args=(client,), name="smpp-reader", daemon=True)
            self._reader.start()
            return client

    def _bind(self) -> smpplib.client.Client:
        client = smpplib.client.Client(
            self.settings.smpp_host,
            self.settings.smpp_port,
            timeout=self.enquire_interval,
            allow_unknown_opt_params=True,
        )
        client.set_message_sent_handler(self._on_submit_resp)
        client.set_message_received_handler(self._on_deliver)
        client.set_error_pdu_handler(self._on_error_pdu)
        client.connect()
        password = self.settings.smpp_password.get_secret_value() if self.settings.smpp_password else ""
        try:
            client.bind_transceiver(system_id=self.settings.smpp_system_id or "", password=password)
        except SMPP_ERRORS:
            client.disconnect()
            raise
        log.info("smpp bound to %s:%s", self.settings.smpp_host, self.settings.smpp_port)
        return client

    def _read(self, client: smpplib.client.Client) -> None:
        try:
            client.listen(auto_send_enquire_link=True)
        except SMPP_ERRORS as exc:
            log.info("smpp session ended: %s", type(exc).__name__)
        finally:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._lost, client)

    def _lost(self, client: smpplib.client.Client) -> None:
        if self._client is client:
            self._client = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(smpplib.exceptions.ConnectionError("session lost"))
        self._waiting.clear()

    # -- reader-thread callbacks (hand over to the loop) -----------------------------------------
    def _resolve(self, sequence: int, status: int, smsc_id: str) -> None:
        future = self._waiting.pop(sequence, None)
        if future is not None and not future.done():
            future.set_result((status, smsc_id))

    def _on_submit_resp(self, pdu: Any, **_: Any) -> None:
        smsc_id = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else str(pdu.message_id or "")
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._resolve, pdu.sequence, int(pdu.status), smsc_id)

    def _on_error_pdu(self, pdu: Any) -> None:
        if pdu.command == "generic_nack" and self._loop is not None:
            self._loop.call_soon_threadsafe(self._resolve, pdu.sequence, int(pdu.status), "")

    def _on_deliver(self, pdu: Any, **_: Any) -> int:
        if not (int(getattr(pdu, "esm_class", 0) or 0) & SMSC_DELIVERY_RECEIPT):
            return ESME_ROK  # a mobile-originated message: not ours to handle here
        parsed = parse_receipt(pdu.short_message, getattr(pdu, "receipted_message_id", None))
        if parsed is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._on_receipt(*parsed), self._loop)
        return ESME_ROK

    async def _on_receipt(self, smsc_id: str, stat: str, err: str) -> None:
        status, error = RECEIPT_STATES.get(stat, (DeliveryStatus.FAILED, stat.lower()))
        message_id, provider_id = self._parts.get(smsc_id, (None, smsc_id))
        if status is not DeliveryStatus.SENT:
            self._parts.pop(smsc_id, None)
        if self.recorder is None and self.core is None:
            log.info("smpp receipt %s: %s (not recorded: no core)", smsc_id, stat)
            return
        try:
            recorder = self.recorder
            if recorder is None:
                from notifications.reports import record_delivery_report

                recorder = record_delivery_report
            await recorder(
                self.core,
                channel=self.name,
                provider_id=provider_id,
                message_id=message_id,
                status=status,
                error=f"{error} (err {err})" if error and err else error,
            )
        except Exception:  # the reader must survive a failed write; the SMSC will not resend
            log.exception("smpp receipt %s could not be recorded", smsc_id)

    # -- sending ---------------------------------------------------------------------------------
    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        if (wait := self.cooldown.remaining()) > 0:
            return DeliveryResult(DeliveryStatus.FAILED, error="cooling down", retry_after=wait)
        try:
            client = await self._ensure_bound()
            answers = await asyncio.wait_for(self._submit(client, message), self.response_timeout)
        except (*SMPP_ERRORS, TimeoutError) as exc:
            delay = self.cooldown.failed()
            log.warning("smpp unavailable (%s): pausing %.0f s", type(exc).__name__, delay)
            return DeliveryResult(DeliveryStatus.FAILED, error=type(exc).__name__, retry_after=delay)
        for status, _ in answers:
            if status in PERMANENT:
                log.info("smpp refused sms %s to %s: %s", message.id, mask_phone(message.to), PERMANENT[status])
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=PERMANENT[status])
            if status != 0:
                delay = self.cooldown.failed(5.0 if status == 0x58 else None)
                return DeliveryResult(
                    DeliveryStatus.FAILED,
                    error=TRANSIENT.get(status, f"status 0x{status:X}"),
                    retry_after=delay,
                )
        self.cooldown.succeeded()
        first = answers[0][1]
        for _, smsc_id in answers:
            self._parts[smsc_id] = (message.id, first)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=first, cost_parts=len(answers))

    async def _submit(self, client: smpplib.client.Client, message: OutgoingMessage) -> list[tuple[int, str]]:
        parts, coding, esm_class = smpplib.gsm.make_parts(message.text)
        sender = self.settings.sender
        numeric = sender.lstrip("+").isdigit()
        loop = asyncio.get_running_loop()
        futures, pdus = [], []
        for part in parts:
            pdu = smpplib.smpp.make_pdu(
                "submit_sm",
                client=client,
                source_addr_ton=c.SMPP_TON_INTL if numeric else c.SMPP_TON_ALNUM,
                source_addr_npi=c.SMPP_NPI_ISDN if numeric else c.SMPP_NPI_UNK,
                source_addr=sender.lstrip("+"),
                dest_addr_ton=c.SMPP_TON_INTL,
                dest_addr_npi=c.SMPP_NPI_ISDN,
                destination_addr=message.to.lstrip("+"),
                short_message=part,
                data_coding=coding,
                esm_class=esm_class,
                registered_delivery=True,
            )
            future: asyncio.Future[tuple[int, str]] = loop.create_future()
            self._waiting[pdu.sequence] = future  # before sending: the answer may beat us back
            futures.append(future)
            pdus.append(pdu)
        await asyncio.to_thread(self._write, client, pdus)
        return list(await asyncio.gather(*futures))

    def _write(self, client: smpplib.client.Client, pdus: list[Any]) -> None:
        with self._write_lock:
            for pdu in pdus:
                client.send_pdu(pdu)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        client, reader = self._client, self._reader
        self._client = None
        if client is None:
            return
        with contextlib.suppress(*SMPP_ERRORS):
            await asyncio.to_thread(self._write, client, [smpplib.smpp.make_pdu("unbind", client=client)])
        if reader is not None:
            await asyncio.to_thread(reader.join, 2.0)
        client.disconnect()
        if reader is not None:
            await asyncio.to_thread(reader.join, 2.0)
