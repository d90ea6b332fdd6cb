"""Bearer API keys, checked against stored hashes with a short in-process cache."""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from shared.apikeys import find_api_key, hash_key
from shared.core import Core

CACHE_SECONDS = 30.0
_cache: dict[str, tuple[str, float]] = {}


async def api_key_scope(core: Core, header: str | None) -> str:
    if not header or not header.startswith("Bearer "):
        raise NotAuthorizedException("Send the API key as 'Authorization: Bearer <key>'.")
    key = header[7:].strip()
    digest = hash_key(key)
    cached = _cache.get(digest)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    async with core.reading() as session:
        row = await find_api_key(session, key)
    if row is None:
        raise NotAuthorizedException("The API key is unknown or revoked.")
    _cache[digest] = (row.scope, time.monotonic() + CACHE_SECONDS)
    return row.scope


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    scope = await api_key_scope(connection.app.state.core, connection.headers.get("authorization"))
    needed = (handler.opt or {}).get("scope", "pos")
    if needed == "staff" and scope != "staff":
        raise PermissionDeniedException("This operation needs a staff API key.")
    connection.state.api_scope = scope
