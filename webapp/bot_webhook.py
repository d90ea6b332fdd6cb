"""POST /telegram/webhook: authenticated entry for Telegram updates in webhook mode.

Why: Telegram signs nothing, it echoes the secret given to setWebhook in a header; we compare it
in constant time and refuse anything else before touching the dispatcher.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from litestar import Request, Router, post
from litestar.exceptions import ClientException, PermissionDeniedException
from pydantic import ValidationError

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


def create_webhook_router(bot: Bot, dispatcher: Dispatcher, secret: str) -> Router:
    """Router with the webhook handler bound to one bot, dispatcher and secret."""

    @post("/telegram/webhook", status_code=200, include_in_schema=False)
    async def telegram_webhook(request: Request[Any, Any, Any]) -> dict[str, bool]:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise PermissionDeniedException("bad webhook secret")
        body = await request.body()
        try:
            update = Update.model_validate_json(body, context={"bot": bot})
        except ValidationError as exc:
            raise ClientException("malformed update") from exc
        await dispatcher.feed_update(bot, update)
        return {"ok": True}

    return Router(path="/", route_handlers=[telegram_webhook])
