"""A local stand-in for APNs: HTTP/2 over TLS (h2), recording each push and answering 410 for
tokens said to be gone, as Apple does for devices that removed the pass. Each push carries its
arrival time (`Push.at`, perf_counter) for latency benchmarks."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Push:
    path: str
    topic: str
    body: bytes
    at: float = field(default_factory=time.perf_counter)  # arrival (perf_counter of the stub's process)


@dataclass
class ApnsStub:
    folder: Path
    gone: set[str] = field(default_factory=set)
    pushes: list[Push] = field(default_factory=list)
    on_push: Callable[[Push], Awaitable[None]] | None = None  # awaited before the answer (a device reacting)
    port: int = 0
    _server: asyncio.base_events.Server | None = None

    def _certificate(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_file = self.folder / "apns-stub.pem"
        key_file = self.folder / "apns-stub-key.pem"
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        context.set_alpn_protocols(["h2"])
        return context

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._certificate())
        self.port = self._server.sockets[0].getsockname()[1]
        return f"https://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams: dict[int, dict[str, object]] = {}
        try:
            while data := await reader.read(65535):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": dict(event.headers), "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data  # type: ignore[operator]
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        request = streams.pop(event.stream_id)
                        headers = request["headers"]
                        assert isinstance(headers, dict)
                        path = str(headers[":path"])
                        push = Push(path, str(headers.get("apns-topic", "")), request["body"])  # type: ignore[arg-type]
                        self.pushes.append(push)
                        if self.on_push is not None:
                            await self.on_push(push)
                        status = "410" if path.rsplit("/", 1)[-1] in self.gone else "200"
                        conn.send_headers(
                            event.stream_id, [(":status", status), ("apns-id", "stub")], end_stream=status == "200"
                        )
                        if status == "410":
                            conn.send_data(event.stream_id, b'{"reason":"Unregistered"}', end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
