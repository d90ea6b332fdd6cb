"""Every handler gets the core, the member behind this Telegram user (or None) and a language."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, User
from sqlalchemy import select

from bot.texts import language_of, t
from shared.config import Settings
from shared.core import Core
from shared.db.models import Member

# (settings, member, now) -> {"apple_url", "google_url"}: given by whoever assembles the bot, since
# the bot does not import the wallet package (DESIGN.md's import direction).
WalletLinks = Callable[[Settings, Member, datetime], dict[str, Any]]


class CoreMiddleware(BaseMiddleware):
    def __init__(self, core: Core, wallet_links: WalletLinks) -> None:
        self.core = core
        self.wallet_links = wallet_links

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        member = None
        if user is not None:
            async with self.core.reading() as session:
                member = (
                    await session.execute(select(Member).where(Member.telegram_user_id == user.id))
                ).scalar_one_or_none()
        data["core"] = self.core
        data["wallet_links"] = self.wallet_links
        data["member"] = member
        data["lang"] = member.language if member else language_of(user.language_code if user else None)
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """Floods get one polite "too fast" and are then ignored until the user slows down."""

    def __init__(self, limit: int = 5, seconds: float = 3.0) -> None:
        self.limit, self.seconds = limit, seconds
        self.recent: dict[int, list[float]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        now = time.monotonic()
        times = [moment for moment in self.recent.get(user.id, []) if now - moment < self.seconds]
        times.append(now)
        self.recent[user.id] = times
        if len(self.recent) > 50_000:  # forget quiet users
            self.recent = {uid: ts for uid, ts in self.recent.items() if now - ts[-1] < self.seconds}
        if len(times) > self.limit:
            if len(times) == self.limit + 1 and isinstance(event, Message):
                await event.answer(t(data.get("lang") or language_of(user.language_code), "too_fast"))
            return None
        return await handler(event, data)
