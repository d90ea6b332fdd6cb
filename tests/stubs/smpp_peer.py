"""An independent SMPP 3.4 SMSC for the SMPP channel's tests: the `smpp34` package's server (its own
Rust/tokio protocol core: binds, windowing, enquire_link, PDU codec), with our scenario scripting on
top, and a recording relay in front of it so tests can assert on every PDU that crossed the wire.

    peer = SmppPeer(); await peer.start()   # peer.port is the relay; the smpp34 server sits behind it
    peer.answers["79000000001"] = [smpp34.ESME_RTHROTTLED]   # next submit_sm for it refused, then accepted
    peer.refuse_parts[2] = smpp34.ESME_RMSGQFUL               # the next part 2 of a long text refused
    peer.silent.add("79000000002")          # never answer (held, so smpp34 does not NAK it for us)
    peer.id_style = ("hex", "dec")          # submit_sm_resp id in hex, receipt text id in decimal
    await peer.unbind_all()                 # the SMSC ends every session (receipts wait for a rebind)
    peer.accepted, peer.messages, peer.wire  # accepted parts, reassembled texts, (direction, command)
    peer.taken()                            # destination -> messages that reached it, answered or held
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections import Counter
from dataclasses import dataclass, field

import smpp34

from tests.stubs.serving import free_port

COMMANDS = {
    0x09: "bind_transceiver",
    0x04: "submit_sm",
    0x05: "deliver_sm",
    0x06: "unbind",
    0x15: "enquire_link",
    0x00: "generic_nack",
}


def command_name(command_id: int) -> str:
    name = COMMANDS.get(command_id & 0x7FFFFFFF, f"0x{command_id:08X}")
    return name + "_resp" if command_id & 0x80000000 and command_id != 0x80000000 else name


@dataclass
class Part:
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes
    message_id: str


@dataclass
class SmppPeer:
    id_style: tuple[str, str] = ("hex", "dec")  # (submit_sm_resp, receipt text)
    receipt_delay: float = 0.02
    answers: dict[str, list[int]] = field(default_factory=dict)  # destination -> statuses, then accept
    silent: set[str] = field(default_factory=set)
    refuse_parts: dict[int, int] = field(default_factory=dict)  # UDH part number -> status, once each
    hold_until: int = 0  # answer nothing until this many submit_sm are waiting (shows a window)
    accepted: list[Part] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    messages: list[tuple[str, bytes, int]] = field(default_factory=list)  # destination, body, data_coding
    wire: list[tuple[str, str]] = field(default_factory=list)  # ("esme"|"smsc", command name)
    binds: int = 0
    max_outstanding: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(26)  # 26 = 0x1A: hex and decimal forms differ from the first id
        self._sessions: dict[str, smpp34.Esme] = {}
        self._held: list[smpp34.SubmitSmEvent] = []
        self._waiting: list[smpp34.SubmitSmEvent] = []
        self._pending_receipts: list[tuple[str, str, str]] = []
        self._chunks: dict[tuple[str, int], dict[int, bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._relay: asyncio.Server | None = None
        self._outstanding = 0

    async def start(self) -> int:
        self._backend = free_port()
        self.server = smpp34.Server(host="127.0.0.1", port=self._backend, system_id="peer")
        await self.server.start()
        self._spawn(self._events())
        self._relay = await asyncio.start_server(self._relay_one, "127.0.0.1", 0)
        self.port = int(self._relay.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        for event in self._held + self._waiting:
            with contextlib.suppress(Exception):
                event.reject(smpp34.ESME_RSYSERR)
        for task in list(self._tasks):
            task.cancel()
        if self._relay is not None:
            self._relay.close()
        await self.server.stop()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the tests look at ------------------------------------------------------------------
    def sent(self, command: str, by: str = "esme") -> int:
        return sum(1 for who, name in self.wire if (who, name) == (by, command))

    def duplicates(self) -> dict[tuple[str, bytes], int]:
        """Accepted parts seen more than once (same destination and bytes, UDH included)."""
        seen = Counter((p.destination, p.short_message) for p in self.accepted)
        return {key: n for key, n in seen.items() if n > 1}

    def taken(self) -> Counter[str]:
        """Messages that reached the SMSC per destination, answered or held: each first part counted."""
        parts = [(p.destination, p.esm_class, p.short_message) for p in self.accepted]
        parts += [(e.destination_addr, e.esm_class, e.short_message) for e in self._held]
        return Counter(d for d, esm, body in parts if not esm & 0x40 or body[5] == 1)

    async def unbind_all(self) -> None:
        for esme in list(self._sessions.values()):
            with contextlib.suppress(Exception):
                await esme.unbind()
        self._sessions.clear()

    # -- the SMSC's side -------------------------------------------------------------------------
    async def _events(self) -> None:
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                self.binds += 1
                self._sessions[event.session_id] = event
                for receipt in self._pending_receipts:  # stored receipts go out on the new session
                    self._spawn(self._receipt(*receipt))
                self._pending_receipts.clear()
            elif isinstance(event, smpp34.Unbound):
                self._sessions.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._waiting.append(event)
                if len(self._waiting) >= self.hold_until:
                    self.hold_until = 0
                    waiting, self._waiting = self._waiting, []
                    for held in waiting:
                        self._decide(held)

    def _decide(self, event: smpp34.SubmitSmEvent) -> None:
        destination = event.destination_addr
        if destination in self.silent:
            self._held.append(event)
            return
        part = event.short_message[5] if event.esm_class & 0x40 else 1
        if self.answers.get(destination) or part in self.refuse_parts:
            status = self.refuse_parts.pop(part) if part in self.refuse_parts else self.answers[destination].pop(0)
            self.refused.append((destination, status))
            event.reject(status)
            return
        number = next(self._ids)
        submit_id, receipt_id = (self._form(number, style) for style in self.id_style)
        event.accept(message_id=submit_id)
        self.accepted.append(Part(destination, event.data_coding, event.esm_class, event.short_message, submit_id))
        self._reassemble(event)
        if event.registered_delivery & 0x01:
            stat = "UNDELIV" if destination.endswith("0") else "DELIVRD"
            self._spawn(self._receipt(destination, receipt_id, stat))

    @staticmethod
    def _form(number: int, style: str) -> str:
        return f"{number:X}" if style == "hex" else str(number)

    def _reassemble(self, event: smpp34.SubmitSmEvent) -> None:
        body = event.short_message
        if not event.esm_class & 0x40:
            self.messages.append((event.destination_addr, body, event.data_coding))
            return
        ref, total, number = body[3], body[4], body[5]
        chunks = self._chunks.setdefault((event.destination_addr, ref), {})
        chunks[number] = body[6:]
        if len(chunks) == total:
            whole = b"".join(chunks[i] for i in range(1, total + 1))
            self.messages.append((event.destination_addr, whole, event.data_coding))

    async def _receipt(self, destination: str, receipt_id: str, stat: str) -> None:
        await asyncio.sleep(self.receipt_delay)
        esme = next(iter(self._sessions.values()), None)
        if esme is None:
            self._pending_receipts.append((destination, receipt_id, stat))
            return
        text = f"id:{receipt_id} sub:001 dlvd:001 submit date:2612071200 done date:2612071201 stat:{stat} err:000"
        try:
            await esme.deliver_sm(
                destination_addr="Shop", source_addr=destination, esm_class=0x04, short_message=text.encode()
            )
        except Exception:  # the session went away meanwhile: keep it for the next bind
            self._pending_receipts.append((destination, receipt_id, stat))

    # -- the recording relay ---------------------------------------------------------------------
    async def _relay_one(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self._backend)
        pumps = [
            asyncio.ensure_future(self._pump(client_r, server_w, "esme")),
            asyncio.ensure_future(self._pump(server_r, client_w, "smsc")),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_w, server_w):
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, who: str) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readexactly(16)
                length, command, _status, _sequence = struct.unpack(">IIII", head)
                body = await reader.readexactly(length - 16)
                name = command_name(command)
                self.wire.append((who, name))
                if name == "submit_sm":
                    self._outstanding += 1
                    self.max_outstanding = max(self.max_outstanding, self._outstanding)
                elif name == "submit_sm_resp":
                    self._outstanding -= 1
                writer.write(head + body)
                await writer.drain()
