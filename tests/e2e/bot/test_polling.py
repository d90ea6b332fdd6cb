"""Polling mode end to end: `loyalty bot` against a local Bot API server over HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from shared.config import Settings
from shared.core import Core
from tests.stubs.telegram_api import TelegramApiStub

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "123456:TEST-token"
USER = 5150


def update(update_id: int, **message: object) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
            **message,
        },
    }


async def test_start_contact_and_card_over_a_real_socket(core: Core, settings: Settings) -> None:
    stub = TelegramApiStub(token=TOKEN)
    base = await stub.start()
    stub.updates = [
        update(1, text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}]),
    ]
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": "bot-" + "k" * 40,
        "LOYALTY_TELEGRAM_TOKEN": TOKEN,
        "LOYALTY_TELEGRAM_API_URL": base,
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "loyalty.cli", "bot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stub.sent("sendPhoto"):
            assert bot.poll() is None, bot.stderr.read().decode() if bot.stderr else "bot exited"
            said = [m.get("text", "") for m in stub.sent("sendMessage")]
            # the shopper answers each prompt as a person would: contact when asked, Card once they have one
            if any("поделитесь номером" in t for t in said) and len(stub.updates) == 1:
                stub.updates.append(
                    update(2, contact={"phone_number": "+79123456789", "first_name": "Anna", "user_id": USER})
                )
            if any(t.startswith("Готово") for t in said) and len(stub.updates) == 2:
                stub.updates.append(update(3, text="💳 Карта"))
            await asyncio.sleep(0.2)
    finally:
        bot.terminate()
        bot.wait(timeout=20)
        await stub.stop()
    texts = [m.get("text", "") for m in stub.sent("sendMessage")]
    assert any("поделитесь номером" in t for t in texts)
    assert any(t.startswith("Готово! Ваша карта") for t in texts)
    (photo,) = stub.sent("sendPhoto")
    assert photo["photo"].startswith("attach://")
    assert "Карта" in photo["caption"]
