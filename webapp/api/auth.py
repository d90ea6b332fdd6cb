"""Bearer API keys. A key this process has seen live lets a hot handler (opt `key_check="deferred"`)
in without a round trip of its own: the handler's transaction checks it (shared.apikeys), so a
revoked key still answers 401 on its very next request in every process. Other handlers, and keys
not seen yet, are looked up by one indexed SELECT on a bare connection. `last_used_at` is written at
most every few minutes per key."""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from shared.apikeys import LiveKey, defer_check, live_key, mark_used, needs_last_used
from shared.core import Core

log = logging.getLogger("loyalty.api")
DEFERRED = {"key_check": "deferred"}  # a handler's opt: it runs in core.transaction()/reading()


async def api_key_scope(core: Core, header: str | None, *, deferrable: bool = False) -> str:
    defer_check(None)
    if not header or not header.startswith("Bearer "):
        raise NotAuthorizedException("Send the API key as 'Authorization: Bearer <key>'.")
    token = header[7:].strip()
    now = core.clock.now()
    key = core.api_keys.get(token) if deferrable else None
    if key is not None and not needs_last_used(key, now):
        defer_check(key.id)
        return key.scope
    async with core.engine.connect() as connection:
        key = await live_key(connection, token)
    if key is None:
        raise NotAuthorizedException("The API key is unknown or revoked.")
    if needs_last_used(key, now):
        try:
            async with core.transaction() as session:
                await mark_used(session, key.id, now)
            key = LiveKey(key.id, key.scope, now)
        except Exception:  # bookkeeping only: never refuse a good key because of it
            log.warning("could not record the use of API key %s", key.id, exc_info=True)
    core.api_keys.remember(token, key)
    return key.scope


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    opt = handler.opt or {}
    scope = await api_key_scope(
        connection.app.state.core,
        connection.headers.get("authorization"),
        deferrable=opt.get("key_check") == DEFERRED["key_check"],
    )
    needed = opt.get("scope", "pos")
    if needed == "staff" and scope != "staff":
        raise PermissionDeniedException("This operation needs a staff API key.")
    connection.state.api_scope = scope
