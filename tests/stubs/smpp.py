"""A small SMPP 3.4 SMSC over a real socket (asyncio), enough for the SMPP channel's tests.

Speaks bind_transceiver, submit_sm (UDH-concatenated parts reassembled), deliver_sm delivery receipts
(``registered_delivery``; destinations ending in 0 are UNDELIV, others DELIVRD), enquire_link and
unbind; anything else gets generic_nack. Written from the spec, independently of smpplib.

    smsc = SmppStub(system_id="shop", password="pw")
    port = await smsc.start()
    smsc.messages      # [(destination, text)] once every part of a message arrived
    smsc.reject["+79000000001"] = 0x0B    # answer submit_sm for that number with this status
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from dataclasses import dataclass, field

BIND_TRANSCEIVER, SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x09, 0x04, 0x05, 0x06, 0x15
RESP, GENERIC_NACK = 0x80000000, 0x80000000
ESME_RINVPASWD, ESME_RINVCMDID = 0x0E, 0x03


def cstring(data: bytes, at: int) -> tuple[bytes, int]:
    end = data.index(b"\x00", at)
    return data[at:end], end + 1


def pdu(command: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command, status, sequence) + body


@dataclass
class Submitted:
    destination: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    payload: bytes


def parse_submit(body: bytes) -> Submitted:
    _service, at = cstring(body, 0)
    at += 2
    _source, at = cstring(body, at)
    at += 2
    destination, at = cstring(body, at)
    esm_class = body[at]
    at += 3  # esm_class, protocol_id, priority_flag
    _schedule, at = cstring(body, at)
    _validity, at = cstring(body, at)
    registered_delivery, data_coding, length = body[at], body[at + 2], body[at + 4]
    at += 5
    return Submitted(destination.decode(), data_coding, esm_class, registered_delivery, body[at : at + length])


def decode(data_coding: int, payload: bytes) -> str:
    return payload.decode("utf-16-be") if data_coding == 0x08 else payload.decode("latin-1")


@dataclass
class SmppStub:
    system_id: str = "shop"
    password: str = "secret"
    receipt_delay: float = 0.01
    reject: dict[str, int] = field(default_factory=dict)
    messages: list[tuple[str, str]] = field(default_factory=list)
    parts: list[Submitted] = field(default_factory=list)
    binds: int = 0
    enquire_links: int = 0
    unbinds: int = 0
    receipts_acknowledged: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(0xA000)
        self._seq = itertools.count(1)
        self._pending: dict[tuple[str, int], dict[int, bytes]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        bound = False
        try:
            while True:
                head = await reader.readexactly(16)
                length, command, _status, sequence = struct.unpack(">IIII", head)
                body = await reader.readexactly(length - 16)
                if command == BIND_TRANSCEIVER:
                    system_id, at = cstring(body, 0)
                    password, _ = cstring(body, at)
                    ok = (system_id.decode(), password.decode()) == (self.system_id, self.password)
                    bound = ok
                    self.binds += ok
                    writer.write(pdu(BIND_TRANSCEIVER | RESP, 0 if ok else ESME_RINVPASWD, sequence, b"stub-smsc\x00"))
                elif command == ENQUIRE_LINK:
                    self.enquire_links += 1
                    writer.write(pdu(ENQUIRE_LINK | RESP, 0, sequence))
                elif command == UNBIND:
                    self.unbinds += 1
                    writer.write(pdu(UNBIND | RESP, 0, sequence))
                    await writer.drain()
                    return
                elif command == DELIVER_SM | RESP:
                    self.receipts_acknowledged += 1
                elif command == SUBMIT_SM and bound:
                    self._submit(writer, sequence, parse_submit(body))
                else:
                    writer.write(pdu(GENERIC_NACK, ESME_RINVCMDID, sequence))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _submit(self, writer: asyncio.StreamWriter, sequence: int, sm: Submitted) -> None:
        status = self.reject.get(sm.destination, 0)
        if status:
            writer.write(pdu(SUBMIT_SM | RESP, status, sequence, b"\x00"))
            return
        message_id = f"{next(self._ids):X}"
        writer.write(pdu(SUBMIT_SM | RESP, 0, sequence, message_id.encode() + b"\x00"))
        self.parts.append(sm)
        payload = sm.payload
        if sm.esm_class & 0x40:  # UDH: 05 00 03 ref total number
            ref, total, number = payload[3], payload[4], payload[5]
            chunks = self._pending.setdefault((sm.destination, ref), {})
            chunks[number] = payload[6:]
            if len(chunks) == total:
                whole = b"".join(chunks[i] for i in range(1, total + 1))
                self.messages.append((sm.destination, decode(sm.data_coding, whole)))
                del self._pending[(sm.destination, ref)]
        else:
            self.messages.append((sm.destination, decode(sm.data_coding, payload)))
        if sm.registered_delivery & 0x01:
            task = asyncio.create_task(self._receipt(writer, message_id, sm.destination))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _receipt(self, writer: asyncio.StreamWriter, message_id: str, destination: str) -> None:
        await asyncio.sleep(self.receipt_delay)
        stat, state, err = ("UNDELIV", 5, "001") if destination.endswith("0") else ("DELIVRD", 2, "000")
        text = (
            f"id:{message_id} sub:001 dlvd:{'000' if stat != 'DELIVRD' else '001'} "
            f"submit date:2611221200 done date:2611221201 stat:{stat} err:{err} text:"
        ).encode()
        body = (
            b"\x00"
            + b"\x01\x01"
            + destination.encode()
            + b"\x00"
            + b"\x00\x00"
            + b"Shop\x00"
            + bytes([0x04, 0, 0])
            + b"\x00\x00"
            + bytes([0, 0, 0, 0, len(text)])
            + text
            + struct.pack(">HH", 0x001E, len(message_id) + 1)
            + message_id.encode()
            + b"\x00"
            + struct.pack(">HHB", 0x0427, 1, state)
        )
        with contextlib.suppress(ConnectionError):
            writer.write(pdu(DELIVER_SM, 0, next(self._seq), body))
            await writer.drain()
