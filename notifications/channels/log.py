"""The `log` provider: every message becomes a JSON line in var/messages.jsonl, so a developer
sees what shoppers would get without any account."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from notifications.channels.base import DeliveryResult, DeliveryStatus, OutgoingMessage
from notifications.sms_parts import count_parts
from shared.files import append_private


class LogChannel:
    batch_size = 500

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._lock = asyncio.Lock()

    def _line(self, message: OutgoingMessage) -> str:
        return json.dumps(
            {
                "id": message.id,
                "channel": self.name,
                "to": message.to,
                "subject": message.subject,
                "text": message.text,
                "kind": message.kind,
                "language": message.language,
                "created_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        )

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        text = "".join(self._line(m) + "\n" for m in messages)
        async with self._lock:
            await asyncio.to_thread(self._append, text)
        return [
            DeliveryResult(
                DeliveryStatus.DELIVERED,
                provider_id=f"log-{m.id}",
                cost_parts=count_parts(m.text) if self.name == "sms" else 0,
            )
            for m in messages
        ]

    def _append(self, text: str) -> None:
        with append_private(self.path) as out:  # codes and phone numbers: 0600, in a 0700 folder
            out.write(text)

    async def close(self) -> None:
        return None
