"""Bearer API keys, checked against stored hashes on every request (no cache: a revoked key answers
401 on its very next request in every process). The check is one indexed SELECT on a bare
connection; `last_used_at` is written at most every few minutes per key."""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from shared.apikeys import live_key, mark_used, needs_last_used
from shared.core import Core

log = logging.getLogger("loyalty.api")


async def api_key_scope(core: Core, header: str | None) -> str:
    if not header or not header.startswith("Bearer "):
        raise NotAuthorizedException("Send the API key as 'Authorization: Bearer <key>'.")
    async with core.engine.connect() as connection:
        key = await live_key(connection, header[7:].strip())
    if key is None:
        raise NotAuthorizedException("The API key is unknown or revoked.")
    now = core.clock.now()
    if needs_last_used(key, now):
        try:
            async with core.transaction() as session:
                await mark_used(session, key.id, now)
        except Exception:  # bookkeeping only: never refuse a good key because of it
            log.warning("could not record the use of API key %s", key.id, exc_info=True)
    return key.scope


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    scope = await api_key_scope(connection.app.state.core, connection.headers.get("authorization"))
    needed = (handler.opt or {}).get("scope", "pos")
    if needed == "staff" and scope != "staff":
        raise PermissionDeniedException("This operation needs a staff API key.")
    connection.state.api_scope = scope
