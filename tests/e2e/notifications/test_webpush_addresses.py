"""A push subscription that points inside our network is never called, even when it was written
straight into the database (rows from before the allow-list, or a hostile name that resolves to a
private address): the worker refuses it at send time and a real local server records no hit."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from notifications.channels.log import LogChannel
from notifications.providers.webpush import WebPushChannel
from notifications.worker import Worker
from shared.config import PushSettings, Settings
from shared.core import Core
from shared.db.models.messages import Message, PushSubscription
from shared.members import Registration, register

pytestmark = pytest.mark.e2e


class Recorder:
    """A plain HTTP server on 127.0.0.1 that answers 201 to anything and counts every connection
    (a TLS hello counts too)."""

    def __init__(self) -> None:
        self.hits: list[bytes] = []
        self.port = 0
        self.answer = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.hits.append(await asyncio.wait_for(reader.read(2048), 5))
            writer.write(self.answer)
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    found = Recorder()
    server = await asyncio.start_server(found._serve, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": b64(point), "auth": b64(secrets.token_bytes(16))}


async def push_once(core: Core, settings: Settings, endpoint: str) -> Message:
    """A member with a push subscription stored directly (no validation), then one worker round."""
    keys = browser_keys()
    async with core.transaction() as session:
        member, _ = await register(
            session,
            core.clock,
            core.rules,
            Registration(phone="+79123456789", consents={"push": True, "sms": True}),
        )
        session.add(
            PushSubscription(
                member_id=member.id,
                endpoint=endpoint,
                p256dh=keys["p256dh"],
                auth=keys["auth"],
                created_at=core.clock.now(),
            )
        )
    channel = WebPushChannel(settings, core)
    sink = settings.var_dir / "messages.jsonl"
    worker = Worker(core, {"push": channel, **{n: LogChannel(n, sink) for n in ("sms", "viber", "email", "telegram")}})
    try:
        for _ in range(3):
            await worker.run_once()
    finally:
        await channel.close()
    async with core.reading() as session:
        return (await session.execute(select(Message).where(Message.channel == "push"))).scalar_one()


def with_push(settings: Settings, tmp_path: Path, **push: str) -> Settings:
    return settings.model_copy(update={"var_dir": tmp_path, "push": PushSettings(provider="webpush", **push)})


@pytest.mark.parametrize(
    ("endpoint", "allowed", "reason"),
    [
        ("http://127.0.0.1:{port}/push/abc", "", "only https"),
        ("https://127.0.0.1:{port}/push/abc", "", "an IP address"),
        ("https://[::ffff:127.0.0.1]:{port}/push/abc", "", "an IP address"),
        ("https://0x7f.1:{port}/push/abc", "", "not a valid host name"),
        # the name is allowed (a careless allow-list), but it resolves to loopback: refused after DNS
        (
            "https://localhost:{port}/push/abc",
            "localhost:{port}",
            "localhost resolves to an address that is not public",
        ),
    ],
)
async def test_a_stored_private_endpoint_is_never_called(
    core: Core, settings: Settings, tmp_path: Path, recorder: Recorder, endpoint: str, allowed: str, reason: str
) -> None:
    hosts = allowed.format(port=recorder.port) or PushSettings().allowed_hosts
    message = await push_once(
        core, with_push(settings, tmp_path, allowed_hosts=hosts), endpoint.format(port=recorder.port)
    )
    assert recorder.hits == []
    assert message.status == "undeliverable"
    assert message.error is not None
    assert message.error.startswith(f"endpoint refused: {reason}")
    assert message.attempts == 1  # not retried


async def test_the_test_push_server_setting_lets_the_same_address_through(
    core: Core, settings: Settings, tmp_path: Path, recorder: Recorder
) -> None:
    """The control: the recorder does see a push when the host is allowed as insecure."""
    message = await push_once(
        core,
        with_push(settings, tmp_path, allow_insecure_hosts="127.0.0.1"),
        f"http://127.0.0.1:{recorder.port}/push/abc",
    )
    assert message.status == "sent"
    [hit] = recorder.hits
    assert hit.startswith(b"POST /push/abc HTTP/1.1")


async def test_what_a_push_service_answers_is_never_logged_verbatim(
    core: Core, settings: Settings, tmp_path: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"no\n2026-12-07 INFO loyalty.auth admin signed in\x1b[2J" + b"x" * 5000
    recorder.answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
        len(body),
        body,
    )
    message = await push_once(
        core, with_push(settings, tmp_path, allow_insecure_hosts="127.0.0.1"), f"http://127.0.0.1:{recorder.port}/p"
    )
    assert message.status == "undeliverable"
    [line] = [r.getMessage() for r in caplog.records if "push service refused" in r.getMessage()]
    assert "\n" not in line
    assert "\x1b" not in line
    assert "INFO loyalty.auth" in line  # kept, but on the same line, quoted
    assert len(line) < 300


async def test_a_redirect_off_the_allowed_hosts_is_not_followed(
    core: Core, settings: Settings, tmp_path: Path, recorder: Recorder
) -> None:
    inner = Recorder()
    server = await asyncio.start_server(inner._serve, "127.0.0.1", 0)
    inner.port = server.sockets[0].getsockname()[1]
    recorder.answer = (
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:%d/latest/meta-data/\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n" % inner.port
    )
    async with server:
        message = await push_once(
            core, with_push(settings, tmp_path, allow_insecure_hosts="127.0.0.1"), f"http://127.0.0.1:{recorder.port}/p"
        )
    assert len(recorder.hits) == 1
    assert inner.hits == []
    assert message.status == "undeliverable"
    assert message.error == "endpoint refused: only https push endpoints are accepted"
