"""telegram-test-api (npm) as an independent Bot API emulator, and a shopper talking to it.

The bot reaches it at ``url`` like api.telegram.org (``/bot<token>/<method>``); the shopper uses the
emulator's own client API (``/sendMessage``, ``/sendCommand``, ``/getUpdates`` with JSON bodies) and reads
what the bot sent to their chat. Node and the package must be there (``make install``): otherwise the
test fails.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.stubs.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("telegram_test_api.js")


@contextmanager
def running_emulator() -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "telegram-test-api").is_dir():
        raise RuntimeError("node and the telegram-test-api package are needed: run `make install`")
    port = free_port()
    process = subprocess.Popen(
        [node, str(SCRIPT), str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout
    assert output is not None
    try:
        line = output.readline()
        if not line.startswith(b"listening"):
            raise RuntimeError(f"telegram-test-api did not start: {(line + output.read()).decode(errors='replace')}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        output.close()


class Shopper:
    """One Telegram user in a private chat with the bot, driven through the emulator's client API."""

    def __init__(self, http: httpx.AsyncClient, token: str, user_id: int, first_name: str) -> None:
        self.http, self.token, self.user_id = http, token, user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}
        self.seen: list[dict[str, Any]] = []  # what the bot sent to this chat, in order
        self.read = 0  # how much of it the shopper has already looked at

    def _message(self, **fields: Any) -> dict[str, Any]:
        chat = {"id": self.user_id, "type": "private", "first_name": self.user["first_name"]}
        return {"botToken": self.token, "from": self.user, "chat": chat, "date": int(time.time()), **fields}

    async def command(self, text: str) -> None:
        entity = {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
        (await self.http.post("/sendCommand", json=self._message(text=text, entities=[entity]))).raise_for_status()

    async def say(self, text: str) -> None:
        (await self.http.post("/sendMessage", json=self._message(text=text))).raise_for_status()

    async def share_contact(self, phone: str) -> None:
        contact = {"phone_number": phone, "first_name": self.user["first_name"], "user_id": self.user_id}
        (await self.http.post("/sendMessage", json=self._message(contact=contact))).raise_for_status()

    async def wait_for(self, needle: str, timeout: float = 30) -> dict[str, Any]:
        """The next message from the bot in this chat whose text contains ``needle`` (with its
        ``message_id``); the messages before it count as read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.http.post("/getUpdates", json={"token": self.token, "chatId": self.user_id})
            for update in response.json()["result"]:
                self.seen.append({**update["message"], "message_id": update["messageId"]})
            for index in range(self.read, len(self.seen)):
                if needle in str(self.seen[index].get("text", "")):
                    self.read = index + 1
                    return self.seen[index]
            await asyncio.sleep(0.2)
        said = [m.get("text") for m in self.seen[self.read :]]
        raise AssertionError(f"the bot never said {needle!r}; it said {said}")
