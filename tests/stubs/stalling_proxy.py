"""A TCP relay in front of a real peer that lets a request through and then withholds the peer's answer.

    proxy = StallingProxy(target_port, trigger=END_OF_DATA)  # SMTP: after the body's final "."
    proxy = StallingProxy(target_port, trigger=b"")           # HTTP: from a connection's first request
    proxy.stalls = 3                                           # the next 3 connections that trigger

Everything the client writes reaches the peer (so the peer takes the message); on a stalled connection
nothing the peer writes after the trigger reaches the client, which times out not knowing whether its
message was taken. Connections that do not trigger, or arrive when no stall is left, are plain relays.
"""

from __future__ import annotations

import asyncio
import contextlib

END_OF_DATA = b"\r\n.\r\n"  # SMTP: the end of the message body after DATA


class StallingProxy:
    def __init__(self, target_port: int, *, trigger: bytes) -> None:
        self.target_port, self.trigger = target_port, trigger
        self.stalls = 0  # connections still to stall
        self.stalled = 0  # connections stalled so far
        self.triggered = 0  # connections that reached the trigger, stalled or not
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        muted = asyncio.Event()
        pumps = [
            asyncio.ensure_future(self._requests(client_r, server_w, muted)),
            asyncio.ensure_future(self._answers(server_r, client_w, muted)),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_w, server_w):
            writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, muted: asyncio.Event) -> None:
        tail, triggered = b"", False
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                seen, tail = tail + chunk, (tail + chunk)[-len(self.trigger) :] if self.trigger else b""
                if not triggered and self.trigger in seen:
                    triggered = True
                    self.triggered += 1
                    if self.stalls > 0:
                        self.stalls -= 1
                        self.stalled += 1
                        muted.set()  # before the peer can answer what this chunk completes
                writer.write(chunk)
                await writer.drain()

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, muted: asyncio.Event) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                if muted.is_set():
                    continue  # taken by the peer, never answered: the client's timeout decides
                writer.write(chunk)
                await writer.drain()
