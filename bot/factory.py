"""The one place the bot is assembled: Bot (pointed at the configured Bot API server), FSM
storage, middlewares and one router per feature. Polling, the webhook and tests all use it."""

from __future__ import annotations

from typing import NamedTuple

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.middlewares import CoreMiddleware, ThrottlingMiddleware, WalletLinks
from bot.routers import menu, profile, registration
from bot.routers import settings as settings_router
from shared.config import Settings
from shared.core import Core


def create_bot(settings: Settings) -> Bot:
    """Bot talking to settings.telegram.api_url; refuses to start without a token."""
    token = settings.telegram.token
    if token is None:
        raise RuntimeError("LOYALTY_TELEGRAM_TOKEN is not set: the bot is off")
    server = TelegramAPIServer.from_base(settings.telegram.api_url.rstrip("/"))
    return Bot(token=token.get_secret_value(), session=AiohttpSession(api=server))


def create_storage(settings: Settings) -> BaseStorage:
    """FSM storage: in memory by default, Redis when settings.redis_url is set."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


def create_dispatcher(core: Core, settings: Settings, wallet_links: WalletLinks) -> Dispatcher:
    dispatcher = Dispatcher(storage=create_storage(settings))
    dispatcher.update.outer_middleware(CoreMiddleware(core, wallet_links))
    dispatcher.message.outer_middleware(ThrottlingMiddleware())
    # menu's catch-all comes last
    dispatcher.include_routers(
        registration.create_router(), profile.create_router(), settings_router.create_router(), menu.create_router()
    )
    return dispatcher


class Telegram(NamedTuple):
    """The webhook bot an entry point builds and hands to the web app, which closes it on shutdown."""

    bot: Bot
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dispatcher.storage.close()


def create_telegram(core: Core, settings: Settings, wallet_links: WalletLinks) -> Telegram:
    return Telegram(create_bot(settings), create_dispatcher(core, settings, wallet_links))
