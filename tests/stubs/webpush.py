"""A small Web Push service of our own, independent of the sender's code path: it hands out
subscriptions whose key pair it generated itself, checks each push's VAPID JWT (RFC 8292: the
`vapid t=…, k=…` signature with py-vapid, the key the subscription was made for, aud/exp/sub) and
decrypts the aes128gcm body (RFC 8291) with http-ece. Plain HTTP on 127.0.0.1 (tests only)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    id: str
    server_key: str  # the applicationServerKey the browser subscribed with
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answer: int = 201  # what the service says to pushes (404/410: the browser unsubscribed)

    def public(self, base: str) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": f"{base}/push/{self.id}", "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


@dataclass
class Received:
    subscription: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    headers: dict[str, str]  # lower-cased names


@dataclass
class PushReceiver:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why) of pushes turned down
    stalls: int = 0  # the next pushes taken (kept in `received`) and then not answered for `stall_seconds`
    stall_seconds: float = 30.0
    answer_delay: float = 0.0  # seconds before answering every push (a service that is not instant)
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=8192)
        app.router.add_post("/push/{id}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """A browser's PushManager.subscribe(): a fresh key pair and auth secret, bound to the key."""
        sub = Subscription(
            id=secrets.token_hex(8),
            server_key=application_server_key,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.subscriptions[sub.id] = sub
        return sub.public(self.base)

    def _refuse(self, status: int, why: str) -> web.Response:
        self.refused.append((status, why))
        return web.Response(status=status, text=why)

    def _claims(self, authorization: str, sub: Subscription) -> dict[str, Any] | str:
        """The JWT's claims when the VAPID header holds up, else why not."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return f"scheme {scheme!r}, not vapid"
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != sub.server_key:
            return "k is not the key the subscription was made with"
        signed, _, signature = token.rpartition(".")
        if not Vapid02.from_raw_public(key.encode()).verify_token(signed.encode(), signature):
            return "bad JWT signature"
        header_b64, _, claims_b64 = signed.partition(".")
        header = json.loads(unb64url(header_b64))
        if header.get("alg") != "ES256":
            return f"alg {header.get('alg')!r}"
        claims: dict[str, Any] = json.loads(unb64url(claims_b64))
        now = time.time()
        if claims.get("aud") != self.base:
            return f"aud {claims.get('aud')!r} is not {self.base}"
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 24 * 3600:
            return f"exp {claims.get('exp')!r} not within the next 24 h"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return f"sub {claims.get('sub')!r} is neither mailto: nor https:"
        return claims

    async def _push(self, request: web.Request) -> web.Response:
        sub = self.subscriptions.get(request.match_info["id"])
        if sub is None:
            return self._refuse(404, "no such subscription")
        if sub.answer in (404, 410):
            return self._refuse(sub.answer, "unsubscribed")
        if "TTL" not in request.headers:
            return self._refuse(400, "TTL missing")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse(415, f"content encoding {request.headers.get('Content-Encoding')!r}")
        claims = self._claims(request.headers.get("Authorization", ""), sub)
        if isinstance(claims, str):
            return self._refuse(403, claims)
        body = await request.read()
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(plain)
        except Exception as exc:  # any failure to decrypt is the sender's fault
            return self._refuse(400, f"cannot decrypt: {exc!r}")
        self.received.append(Received(sub.id, payload, claims, {k.lower(): v for k, v in request.headers.items()}))
        if self.stalls > 0:  # taken, but the sender hears nothing before its timeout
            self.stalls -= 1
            await asyncio.sleep(self.stall_seconds)
        await asyncio.sleep(self.answer_delay)
        return web.Response(status=201, headers={"Location": f"{self.base}/message/{len(self.received)}"})
