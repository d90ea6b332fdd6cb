"""Telegram messages through the loyalty bot (aiogram Bot, same token, configurable API server).

A member who blocked the bot is UNDELIVERABLE ("blocked"); a 429 is FAILED with Telegram's
``retry_after`` so the worker waits exactly as long as asked; network and server errors are FAILED.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from shared.config import TelegramSettings

log = logging.getLogger(__name__)


def create_notifier_bot(settings: TelegramSettings) -> Bot:
    if settings.token is None:
        raise ValueError("LOYALTY_TELEGRAM_TOKEN is not set")
    # a connect timeout of its own: a request that never reached Telegram is safe to send again, one
    # that timed out afterwards may have been delivered (aiohttp takes the ClientTimeout aiogram passes on)
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout, sock_connect=min(settings.request_timeout, 10))
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_url.rstrip("/")), timeout=cast(Any, timeout))
    return Bot(
        settings.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )


def _keyboard(meta: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """meta["buttons"] = [{"text": ..., "url": ...}, ...] -> one URL button per row."""
    buttons = [b for b in meta.get("buttons", []) if isinstance(b, dict) and b.get("text") and b.get("url")]
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=str(b["text"]), url=str(b["url"]))] for b in buttons]
    )


def _undecoded(message: OutgoingMessage, exc: ClientDecodeError) -> DeliveryResult:
    """An answer aiogram could not turn into a Message: sent when Telegram said ``ok`` (resending would
    deliver it twice), else an unknown outcome."""
    data = exc.data if isinstance(exc.data, dict) else {}
    result = data.get("result")
    sent_id = result.get("message_id", "") if isinstance(result, dict) else ""
    log.warning("telegram message %s: unreadable answer (%s)", message.id, exc.message)
    if data.get("ok") is True:
        return DeliveryResult(DeliveryStatus.SENT, provider_id=f"{message.to}:{sent_id}")
    return DeliveryResult(DeliveryStatus.FAILED, error="unreadable answer", retry_after=5.0, ambiguous=True)


class TelegramChannel:
    name = "telegram"
    batch_size = 1  # the Bot API has no batch send

    def __init__(self, settings: TelegramSettings, bot: Bot | None = None) -> None:
        self.bot = bot or create_notifier_bot(settings)
        self._own_bot = bot is None

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        try:
            chat_id = int(message.to)
        except ValueError:
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="no telegram chat")
        try:
            sent = await self.bot.send_message(
                chat_id,
                message.text,
                reply_markup=_keyboard(message.meta),
                parse_mode=message.meta.get("parse_mode"),
            )
        except ClientDecodeError as exc:  # Telegram answered in a shape aiogram cannot read: its "ok" still tells
            return _undecoded(message, exc)
        except TelegramForbiddenError:
            log.info("telegram message %s: bot blocked by the member", message.id)
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="blocked")
        except TelegramRetryAfter as exc:
            return DeliveryResult(DeliveryStatus.FAILED, error="rate limited", retry_after=float(exc.retry_after))
        except TelegramUnauthorizedError:
            log.error("telegram token refused: check LOYALTY_TELEGRAM_TOKEN")
            return DeliveryResult(DeliveryStatus.FAILED, error="unauthorized", retry_after=300.0)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower() or "user is deactivated" in exc.message.lower():
                return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error="chat not found")
            return DeliveryResult(DeliveryStatus.UNDELIVERABLE, error=exc.message[:200])
        except TelegramNetworkError as exc:
            log.warning("telegram unavailable: %s", exc.message[:200])
            # cut off or timed out after the request went out: Telegram may have sent it (no way to ask)
            doubt = not isinstance(exc.__cause__, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
            return DeliveryResult(DeliveryStatus.FAILED, error="network", retry_after=5.0, ambiguous=doubt)
        except TelegramServerError as exc:
            log.warning("telegram unavailable: %s", type(exc).__name__)
            return DeliveryResult(DeliveryStatus.FAILED, error="network", retry_after=5.0)
        return DeliveryResult(DeliveryStatus.SENT, provider_id=f"{sent.chat.id}:{sent.message_id}")

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        return [await self.send(m) for m in messages]

    async def close(self) -> None:
        if self._own_bot:
            await self.bot.session.close()
