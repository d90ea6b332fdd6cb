"""`loyalty telegram set-webhook` / `webhook-info` against a local Bot API server: the URL and secret
registered are the ones the web app serves and checks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from loyalty.processes import create_telegram_for
from shared.config import Settings, TelegramSettings
from shared.core import Core
from tests.conftest import app_client
from tests.stubs.telegram_api import TelegramApiStub
from webapp.app import create_app

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "123456:TEST-token"
SECRET = "wh_" + "s3cret-" * 5
PUBLIC = "https://loyalty.example.com"


async def loyalty(
    settings: Settings, stub: TelegramApiStub, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": "hook-" + "k" * 40,
        "LOYALTY_TELEGRAM_TOKEN": TOKEN,
        "LOYALTY_TELEGRAM_API_URL": stub.url,
        "LOYALTY_PUBLIC_URL": PUBLIC,
        "LOYALTY_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "LOYALTY_ENV_FILE": os.devnull,  # a developer's .env must not change the test
        **env,
    }
    environment = {k: v for k, v in environment.items() if v != ""}  # "" = unset
    return await asyncio.to_thread(  # the stub answers on this loop meanwhile
        subprocess.run,
        [sys.executable, "-m", "loyalty.cli", "telegram", *args],
        env=environment,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


async def test_set_webhook_registers_the_path_and_secret_the_app_serves(core: Core, settings: Settings) -> None:
    stub = TelegramApiStub(token=TOKEN)
    await stub.start()
    try:
        done = await loyalty(settings, stub, "set-webhook", "--drop-pending-updates")
        assert done.returncode == 0, done.stderr
        assert stub.webhook["url"] == PUBLIC + "/telegram/webhook"
        assert stub.webhook["secret_token"] == SECRET
        assert f"webhook set: {PUBLIC}/telegram/webhook" in done.stdout

        # Telegram posting to what it was given reaches the bot in the real app
        live = settings.model_copy(
            update={
                "public_url": PUBLIC,
                "telegram": TelegramSettings(
                    token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET), api_url=stub.url
                ),
            }
        )
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 5150, "type": "private"},
                "from": {"id": 5150, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        path = urlsplit(stub.webhook["url"]).path
        async with app_client(create_app(live, core=core, telegram=create_telegram_for(core, live))) as http:
            assert (await http.post(path, json=update)).status_code == 403
            answer = await http.post(
                path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": stub.webhook["secret_token"]}
            )
            assert answer.status_code == 200, answer.text
        assert any("поделитесь номером" in m.get("text", "") for m in stub.sent("sendMessage"))

        stub.webhook_error = (1765000000, "Wrong response from the webhook: 502 Bad Gateway")
        info = await loyalty(settings, stub, "webhook-info")
        assert info.returncode == 0, info.stderr
        assert f"url: {PUBLIC}/telegram/webhook" in info.stdout
        assert "(matches)" in info.stdout
        assert "pending updates: 0" in info.stdout
        assert "502 Bad Gateway" in info.stdout
    finally:
        await stub.stop()


async def test_set_webhook_refuses_plain_http_and_a_missing_secret(settings: Settings) -> None:
    stub = TelegramApiStub(token=TOKEN)
    await stub.start()
    try:
        plain = await loyalty(settings, stub, "set-webhook", LOYALTY_PUBLIC_URL="http://loyalty.example.com")
        assert plain.returncode != 0, plain.stderr
        assert "https" in plain.stderr
        other = await loyalty(settings, stub, "set-webhook", "--url", "http://127.0.0.1:8000/telegram/webhook")
        assert other.returncode != 0, other.stderr
        assert "https" in other.stderr
        unset = await loyalty(settings, stub, "set-webhook", LOYALTY_TELEGRAM_WEBHOOK_SECRET="")
        assert unset.returncode != 0, unset.stderr
        assert "LOYALTY_TELEGRAM_WEBHOOK_SECRET" in unset.stderr
        assert stub.sent("setWebhook") == []  # nothing half-done at Telegram

        info = await loyalty(settings, stub, "webhook-info")  # nothing registered: polling mode
        assert info.returncode == 0, info.stderr
        assert "(none: polling mode)" in info.stdout
        assert "DIFFERENT" in info.stdout

        stub.fail_with_500 = True
        refused = await loyalty(settings, stub, "set-webhook")
        assert refused.returncode != 0, refused.stderr
        assert "Telegram refused setWebhook" in refused.stderr
        no_token = await loyalty(settings, stub, "webhook-info", LOYALTY_TELEGRAM_TOKEN="")
        assert no_token.returncode != 0, no_token.stderr
        assert "LOYALTY_TELEGRAM_TOKEN" in no_token.stderr
    finally:
        await stub.stop()
