"""Bearer API keys. A key this process has seen live lets a hot handler (opt `key_check="deferred"`)
in without a round trip of its own: the handler's transaction checks it (shared.apikeys), so a
revoked key still answers 401 on its very next request in every process. Other handlers, and keys
not seen yet, are looked up by one indexed SELECT on a bare connection. `last_used_at` is written at
most every few minutes per key."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from shared.apikeys import LiveKey, defer_check, live_key, mark_used, needs_last_used
from shared.core import Core
from shared.errors import Forbidden

log = logging.getLogger("loyalty.api")
DEFERRED = {"key_check": "deferred"}  # a handler's opt: it runs in core.transaction()/reading()


async def api_key(core: Core, header: str | None, *, deferrable: bool = False) -> LiveKey:
    defer_check(None)
    if not header or not header.startswith("Bearer "):
        raise NotAuthorizedException("Send the API key as 'Authorization: Bearer <key>'.")
    token = header[7:].strip()
    now = core.clock.now()
    key = core.api_keys.get(token) if deferrable else None
    if key is not None and not needs_last_used(key, now):
        defer_check(key.id)
        return key
    async with core.engine.connect() as connection:
        key = await live_key(connection, token)
    if key is None:
        raise NotAuthorizedException("The API key is unknown or revoked.")
    if needs_last_used(key, now):
        try:
            async with core.transaction() as session:
                await mark_used(session, key.id, now)
            key = LiveKey(key.id, key.scope, now, key.partner_id)
        except Exception:  # bookkeeping only: never refuse a good key because of it
            log.warning("could not record the use of API key %s", key.id, exc_info=True)
    core.api_keys.remember(token, key)
    return key


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    opt = handler.opt or {}
    key = await api_key(
        connection.app.state.core,
        connection.headers.get("authorization"),
        deferrable=opt.get("key_check") == DEFERRED["key_check"],
    )
    needed = opt.get("scope", "pos")
    if needed == "staff" and key.scope != "staff":
        raise PermissionDeniedException("This operation needs a staff API key.")
    connection.state.api_scope = key.scope
    connection.state.api_partner = key.partner_id


async def check_store(request: Request[Any, Any, Any], store_id: object) -> None:
    """A partner's key acts only at its partner's stores (403 otherwise); the retailer's keys pass for free."""
    partner_id = getattr(request.state, "api_partner", None)
    if partner_id is not None:
        core: Core = request.app.state.core
        try:
            await core.store_partners.check(core.engine, partner_id, store_id)
        except Forbidden:
            async with core.reading():  # a key let in from memory: a revoked one hears 401, not 403
                raise
