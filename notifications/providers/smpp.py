"""SMS over SMPP 3.4 (smpplib for the PDUs): one bound transceiver session, a reader thread, asyncio futures.

smpplib is blocking, so a thread reads PDUs (answering enquire_link and the SMSC's unbind, sending our
own enquire_link when idle) and hands submit_sm_resp / deliver_sm receipts to the event loop. Parts come
from ``notifications.sms_parts`` (the table the cost estimate uses); up to ``smpp_window`` submit_sm are
outstanding at once. The message's provider id is the SMSC id of its first part. Delivery receipts
become ``record_delivery_report`` calls; their ids are matched whether the SMSC writes them in hex or
decimal (many answer submit_sm in one and write the receipt in the other).

Never twice: parts the SMSC accepted are not resubmitted when a sibling part is throttled; a submit_sm
written but never answered (timeout, session lost) has an unknown outcome, so the message is not resent
on SMPP but handed to the next channel of its cascade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.providers.smsc import Cooldown
from notifications.sms_parts import encode_parts
from shared.config import SmsSettings
from shared.phones import mask_phone

log = logging.getLogger(__name__)
Recorder = Callable[..., Awaitable[bool]]
ESME_ROK = 0
SMSC_DELIVERY_RECEIPT = 0x04  # esm_class bit of a deliver_sm carrying a delivery receipt
SMPP_ERRORS = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError)
PERMANENT = {0x0B: "invalid number", 0x0C: "invalid number", 0x42: "invalid message", 0x62: "invalid message"}
TRANSIENT = {0x08: "smsc error", 0x14: "smsc queue full", 0x58: "throttled", 0x45: "submit failed"}
ESME_RTHROTTLED, ESME_RMSGQFUL = 0x58, 0x14
UNKNOWN_OUTCOME = "no answer from the SMSC: not resent, it may have been delivered"
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


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _norm(smsc_id: str) -> str:
    return smsc_id.strip().upper().lstrip("0") or "0"


def id_forms(smsc_id: str) -> list[str]:
    """The keys a receipt id may match, exact form first: the same id read as decimal written in hex,
    and as hex written in decimal."""
    key = _norm(smsc_id)
    forms = [key]
    if key.isdigit():
        forms.append(f"{int(key):X}")
    if re.fullmatch(r"[0-9A-F]+", key):
        forms.append(str(int(key, 16)))
    return forms


class SmppChannel:
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
        self.batch_size = settings.smpp_window
        self.cooldown = Cooldown()
        self._client: smpplib.client.Client | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._bind_lock = asyncio.Lock()
        self._window = asyncio.Semaphore(settings.smpp_window)
        # sequence -> (answer, message id, part index); kept after a timeout so a late answer is still mapped
        self._waiting: dict[int, tuple[asyncio.Future[tuple[int, str]], int, int]] = {}
        self._parts: dict[str, int] = {}  # normalised smsc part id -> message id
        self._first: dict[int, str] = {}  # message id -> smsc id of its first part (its provider id)
        self._accepted: dict[int, tuple[str, list[bytes], int, int, dict[int, str]]] = {}  # retry only the rest
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
        password = self.settings.smpp_password.get_secret_value() if self.settings.smpp_password else ""
        try:
            client.connect()
            client.bind_transceiver(system_id=self.settings.smpp_system_id or "", password=password)
        except SMPP_ERRORS:
            client.disconnect()
            raise
        log.info("smpp bound to %s:%s", self.settings.smpp_host, self.settings.smpp_port)
        return client

    def _read(self, client: smpplib.client.Client) -> None:
        """The session's PDUs until it ends (our unbind answered, the SMSC's unbind, a broken socket)."""
        try:
            while True:
                try:
                    pdu = client.read_pdu()
                except TimeoutError:  # idle: ask whether the SMSC is still there
                    self._write(client, [smpplib.smpp.make_pdu("enquire_link", client=client)])
                    continue
                if not self._dispatch(client, pdu):
                    break
        except SMPP_ERRORS as exc:
            log.info("smpp session ended: %s", type(exc).__name__)
        finally:
            with contextlib.suppress(*SMPP_ERRORS):
                client.disconnect()
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._lost, client)

    def _dispatch(self, client: smpplib.client.Client, pdu: Any) -> bool:
        """Act on one PDU in the reader thread; False when the session is over."""
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            raw = getattr(pdu, "message_id", None) or b""
            smsc_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._resolve, pdu.sequence, int(pdu.status), smsc_id)
        elif command == "deliver_sm":
            self._answer(client, "deliver_sm_resp", pdu.sequence, self._on_deliver(pdu))
        elif command == "enquire_link":
            self._answer(client, "enquire_link_resp", pdu.sequence)
        elif command == "unbind":  # the SMSC ends the session: answer, then rebind on the next send
            log.info("smpp: the SMSC unbound us")
            self._answer(client, "unbind_resp", pdu.sequence)
            return False
        elif command == "unbind_resp":
            return False
        elif command != "enquire_link_resp":
            log.warning("smpp: unexpected %s", command)
        return True

    def _answer(self, client: smpplib.client.Client, command: str, sequence: int, status: int = ESME_ROK) -> None:
        answer = smpplib.smpp.make_pdu(command, client=client, status=status)
        answer.sequence = sequence
        self._write(client, [answer])

    def _lost(self, client: smpplib.client.Client) -> None:
        if self._client is client:
            self._client = None
        for future, _, _ in self._waiting.values():
            if not future.done():
                future.set_exception(smpplib.exceptions.ConnectionError("session lost"))
        self._waiting.clear()

    # -- answers (on the loop, in the order the reader saw them) ---------------------------------
    def _resolve(self, sequence: int, status: int, smsc_id: str) -> None:
        waiting = self._waiting.pop(sequence, None)
        if waiting is None:
            return
        future, message_id, index = waiting
        if status == ESME_ROK:  # known before any receipt for it is handled
            self._parts[_norm(smsc_id)] = message_id
            if index == 0:
                self._first[message_id] = smsc_id
            if message_id in self._accepted:
                self._accepted[message_id][4][index] = smsc_id
        if not future.done():
            future.set_result((status, smsc_id))

    def _on_deliver(self, pdu: Any) -> int:
        if not (int(getattr(pdu, "esm_class", 0) or 0) & SMSC_DELIVERY_RECEIPT):
            return ESME_ROK  # a mobile-originated message: not ours to handle here
        parsed = parse_receipt(pdu.short_message, getattr(pdu, "receipted_message_id", None))
        if parsed is not None and self._loop is not None:
            text_id = parse_receipt(pdu.short_message)
            alternative = text_id[0] if text_id else parsed[0]
            asyncio.run_coroutine_threadsafe(self._on_receipt(*parsed, alternative), self._loop)
        return ESME_ROK

    def _message_of(self, *smsc_ids: str) -> int | None:
        for smsc_id in smsc_ids:
            for key in id_forms(smsc_id):
                if key in self._parts:
                    return self._parts[key]
        return None

    async def _on_receipt(self, smsc_id: str, stat: str, err: str, text_id: str | None = None) -> None:
        status, error = RECEIPT_STATES.get(stat, (DeliveryStatus.FAILED, stat.lower()))
        message_id = self._message_of(smsc_id, text_id or smsc_id)
        provider_id = self._first.get(message_id, smsc_id) if message_id is not None else smsc_id
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
        except SMPP_ERRORS as exc:
            return self._unavailable(exc)
        text, parts, coding, esm_class, accepted = self._accepted.get(message.id) or (
            message.text,
            *encode_parts(message.text),
            {},
        )
        if text != message.text:  # a different text under the same id: nothing of it was sent
            parts, coding, esm_class = encode_parts(message.text)
            accepted = {}
        self._accepted[message.id] = (message.text, parts, coding, esm_class, accepted)
        todo = [i for i in range(len(parts)) if i not in accepted]
        written: list[asyncio.Future[tuple[int, str]]] = []
        try:
            for i in todo:  # in order, each taking a place in the window
                written.append(await self._put(client, message, i, parts[i], coding, esm_class))
        except SMPP_ERRORS as exc:
            if not written:  # nothing reached the SMSC: safe to try again later
                return self._unavailable(exc)
        answers = await asyncio.gather(*(self._answer_of(client, f) for f in written), return_exceptions=True)
        return self._outcome(message, len(parts), answers)

    def _outcome(self, message: OutgoingMessage, total: int, answers: list[Any]) -> DeliveryResult:
        if any(isinstance(a, BaseException) for a in answers):  # written, never answered
            self._accepted.pop(message.id, None)
            self.cooldown.failed()
            log.warning("smpp: sms %s to %s unanswered, handing it on", message.id, mask_phone(message.to))
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=UNKNOWN_OUTCOME, cost_parts=total)
        for status, _ in answers:
            if status in PERMANENT:
                self._accepted.pop(message.id, None)
                log.info("smpp refused sms %s to %s: %s", message.id, mask_phone(message.to), PERMANENT[status])
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=PERMANENT[status])
        for status, _ in answers:
            if status != ESME_ROK:  # the accepted parts are remembered: a retry sends only the rest
                delay = self.cooldown.failed(5.0 if status in (ESME_RTHROTTLED, ESME_RMSGQFUL) else None)
                error = TRANSIENT.get(status, f"status 0x{status:X}")
                return DeliveryResult(DeliveryStatus.FAILED, error=error, retry_after=delay)
        self.cooldown.succeeded()
        self._accepted.pop(message.id, None)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=self._first.get(message.id), cost_parts=total)

    def _unavailable(self, exc: BaseException) -> DeliveryResult:
        delay = self.cooldown.failed()
        log.warning("smpp unavailable (%s): pausing %.0f s", type(exc).__name__, delay)
        return DeliveryResult(DeliveryStatus.FAILED, error=type(exc).__name__, retry_after=delay)

    async def _put(
        self, client: smpplib.client.Client, message: OutgoingMessage, index: int, part: bytes, coding: int, esm: int
    ) -> asyncio.Future[tuple[int, str]]:
        """Write one submit_sm once the window has room; its answer comes through the returned future."""
        sender = self.settings.sender
        numeric = sender.lstrip("+").isdigit()
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
            esm_class=esm,
            registered_delivery=True,
        )
        future: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)  # a late failure of an abandoned answer is not an error
        await self._window.acquire()
        self._waiting[pdu.sequence] = (future, message.id, index)  # before sending: the answer may beat us
        try:
            await asyncio.to_thread(self._write, client, [pdu])
        except BaseException:
            self._waiting.pop(pdu.sequence, None)
            self._window.release()
            raise
        return future

    async def _answer_of(
        self, client: smpplib.client.Client, future: asyncio.Future[tuple[int, str]]
    ) -> tuple[int, str]:
        """The SMSC's answer to a written submit_sm; raises when none comes in time or the session ends."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.response_timeout)
        except TimeoutError:
            self._drop(client)  # a session that stops answering is not trusted with more
            raise
        finally:
            self._window.release()

    def _drop(self, client: smpplib.client.Client) -> None:
        """Stop using this session: shut the socket so the reader wakes, fails what waits, and ends."""
        if self._client is client:
            self._client = None
        sock = getattr(client, "_socket", None)  # smpplib has no public way to wake a blocked reader
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _write(self, client: smpplib.client.Client, pdus: list[Any]) -> None:
        with self._write_lock:
            for pdu in pdus:
                client.send_pdu(pdu)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """Up to ``smpp_window`` submit_sm in flight over the one session."""
        return list(await asyncio.gather(*(self.send(m) for m in messages)))

    async def close(self) -> None:
        client, reader = self._client, self._reader
        self._client = None
        if client is None:
            return
        with contextlib.suppress(*SMPP_ERRORS):
            await asyncio.to_thread(self._write, client, [smpplib.smpp.make_pdu("unbind", client=client)])
        if reader is not None:
            await asyncio.to_thread(reader.join, 2.0)
        with contextlib.suppress(*SMPP_ERRORS):
            client.disconnect()
