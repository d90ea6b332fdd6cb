"""Every handler gets the core, the member behind this Telegram user (or None) and a language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy import select

from bot.texts import language_of
from shared.core import Core
from shared.db.models import Member


class CoreMiddleware(BaseMiddleware):
    def __init__(self, core: Core) -> None:
        self.core = core

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        member = None
        if user is not None:
            async with self.core.reading() as session:
                member = (await session.execute(
                    select(Member).where(Member.telegram_user_id == user.id))).scalar_one_or_none()
        data["core"] = self.core
        data["member"] = member
        data["lang"] = member.language if member else language_of(user.language_code if user else None)
        return await handler(event, data)
