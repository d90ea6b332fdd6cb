"""A Bot API session that records every request the bot makes and answers like Telegram would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import SendMessage, SendPhoto, TelegramMethod
from aiogram.types import Chat, Message, PhotoSize, Update


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.requests.append(method)
        if isinstance(method, SendMessage | SendPhoto):
            chat = Chat(id=int(method.chat_id), type="private")
            extra: dict[str, Any] = (
                {"text": method.text}
                if isinstance(method, SendMessage)
                else {
                    "caption": method.caption,
                    "photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)],
                }
            )
            return Message(message_id=next(self._ids), date=datetime.now(UTC), chat=chat, **extra)
        return True

    async def stream_content(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        yield b""

    async def close(self) -> None:
        return None

    def texts(self) -> list[str]:
        return [
            m.text if isinstance(m, SendMessage) else (m.caption or "")
            for m in self.requests
            if isinstance(m, SendMessage | SendPhoto)
        ]


_updates = itertools.count(1)


def message_update(user_id: int, *, text: str | None = None, language: str = "ru", **fields: Any) -> Update:
    payload: dict[str, Any] = {
        "message_id": next(_updates),
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": language},
        **fields,
    }
    if text is not None:
        payload["text"] = text
        if text.startswith("/"):
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": next(_updates), "message": payload})


def callback_update(user_id: int, data: str, language: str = "ru") -> Update:
    return Update.model_validate(
        {
            "update_id": next(_updates),
            "callback_query": {
                "id": str(next(_updates)),
                "chat_instance": "ci",
                "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": language},
                "message": {
                    "message_id": next(_updates),
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": user_id, "type": "private"},
                    "text": "settings",
                },
            },
        }
    )
