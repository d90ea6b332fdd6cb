"""A local Telegram Bot API stand-in over HTTP: answers /bot<token>/<method> like Telegram does.

    stub = TelegramApiStub(token="123:ABC")
    base = await stub.start()            # pass to TelegramAPIServer.from_base(base)
    stub.blocked.add(555)                # -> 403 "Forbidden: bot was blocked by the user"
    stub.retry_after[556] = 7            # -> 429 with parameters.retry_after = 7
    stub.calls                           # [(method, {field: value}), ...]
    stub.webhook                         # what setWebhook registered: {"url", "secret_token", ...}
    stub.webhook_error = (1765000000, "Wrong response from the webhook: 403 Forbidden")  # for getWebhookInfo

Unknown tokens get 401, unknown methods 404, a missing chat_id 400, exactly as the real API words them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web


class TelegramApiStub:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.blocked: set[int] = set()
        self.missing: set[int] = set()
        self.retry_after: dict[int, int] = {}
        self.fail_with_500 = False
        self.updates: list[dict[str, Any]] = []  # served by getUpdates (polling mode), in order
        self.webhook: dict[str, Any] = {}  # setWebhook's fields; deleteWebhook empties it
        self.webhook_error: tuple[int, str] | None = None
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._call)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.url = f"http://{host}:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [fields for name, fields in self.calls if name == method]

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    def _set_webhook(self, fields: dict[str, Any]) -> web.Response:
        url = str(fields.get("url") or "")
        if url and not url.startswith("https://"):
            return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(fields.get("secret_token") or "")
        if secret and (len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)):
            return self._error(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(fields) if url else {}
        if str(fields.get("drop_pending_updates")).lower() == "true":
            self.updates.clear()
        return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        if request.content_type == "application/json":
            fields = await request.json()
        else:
            fields = {k: (v if isinstance(v, str) else "<file>") for k, v in (await request.post()).items()}
        self.calls.append((method, fields))
        if self.fail_with_500:
            return self._error(500, "Internal Server Error")
        if method == "getMe":
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "id": int(self.token.split(":")[0]),
                        "is_bot": True,
                        "first_name": "Loyalty",
                        "username": "loyalty_bot",
                    },
                }
            )
        if method == "deleteWebhook":
            self.webhook = {}
            return web.json_response({"ok": True, "result": True})
        if method in ("setMyCommands", "answerCallbackQuery"):
            return web.json_response({"ok": True, "result": True})
        if method == "setWebhook":
            return self._set_webhook(fields)
        if method == "getWebhookInfo":
            info: dict[str, Any] = {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
            }
            if self.webhook:
                info["max_connections"] = int(self.webhook.get("max_connections") or 40)
                info["ip_address"] = "127.0.0.1"
            if self.webhook_error:
                info["last_error_date"], info["last_error_message"] = self.webhook_error
            return web.json_response({"ok": True, "result": info})
        if method == "getUpdates":
            offset = int(fields.get("offset") or 0)
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if not pending:
                await asyncio.sleep(0.2)  # a short long-poll
            return web.json_response({"ok": True, "result": pending})
        if method == "sendPhoto":
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
                "caption": fields.get("caption"),
                "photo": [{"file_id": "photo", "file_unique_id": "photo", "width": 300, "height": 300}],
            }
            return web.json_response({"ok": True, "result": result})
        if method != "sendMessage":
            return self._error(404, "Not Found")
        try:
            chat_id = int(fields["chat_id"])
        except (KeyError, ValueError):
            return self._error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing:
            return self._error(400, "Bad Request: chat not found")
        if chat_id in self.retry_after:
            wait = self.retry_after[chat_id]
            return self._error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        markup = fields.get("reply_markup")
        result = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "text": fields.get("text", ""),
            "chat": {"id": chat_id, "type": "private"},
        }
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if markup and "inline_keyboard" in markup:  # Telegram echoes inline keyboards only
            result["reply_markup"] = markup
        return web.json_response({"ok": True, "result": result})
