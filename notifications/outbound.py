"""An aiohttp session that only reaches what shared.outbound allows: every request's URL (redirects
included) is checked before it is sent, and every host is resolved by a resolver that refuses
non-public addresses, so the address checked is the address connected to (no DNS rebinding gap).
Use it for any URL we call on someone else's behalf."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from shared.outbound import OutboundRefused, UrlPolicy, resolve_public

__all__ = ["PublicResolver", "guarded_session", "refusal_of"]


class PublicResolver(AbstractResolver):
    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await resolve_public(host, port, self.policy, family)
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            ResolveResult(hostname=host, host=address, port=port, family=fam, proto=0, flags=flags)
            for fam, address in found
        ]

    async def close(self) -> None:
        return None


def guarded_session(policy: UrlPolicy, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    async def check_each_request(
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
    ) -> aiohttp.ClientResponse:
        policy.check_url(str(request.url))
        return await handler(request)

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=PublicResolver(policy)),
        timeout=timeout,
        middlewares=(check_each_request,),
        trust_env=False,  # no proxy from the environment: we must connect to what we checked
    )


def refusal_of(exc: BaseException) -> OutboundRefused | None:
    """The policy refusal behind an HTTP client error (aiohttp wraps resolver errors), if any."""
    seen: Any = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OutboundRefused):
            return seen
        seen = getattr(seen, "os_error", None) or seen.__cause__
    return None
