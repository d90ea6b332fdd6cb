"""`loyalty bot` (polling) against telegram-test-api, an independent Bot API emulator (npm), not our stub.

A shopper, through the emulator's client API, registers with their contact, answers the birthday
question and uses the menu: balance and card. (The emulator's callback queries lack the required
chat_instance, so inline buttons are tested on our stub only; it has no sendPhoto, so the card arrives
through the bot's text fallback.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from shared.config import Settings
from shared.core import Core
from shared.db.models import Member
from tests.peers.telegram_emulator import Shopper, running_emulator

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
TOKEN = "123456:EMULATOR-token"
USER = 7007


async def test_shopper_registers_and_uses_the_menu_through_telegram_test_api(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    with running_emulator() as api, (tmp_path / "bot.log").open("wb") as log:
        env = {
            **os.environ,
            "LOYALTY_DATABASE_URL": settings.db_url,
            "LOYALTY_VAR_DIR": str(settings.var_dir),
            "LOYALTY_SECRET_KEY": "bot-" + "k" * 40,
            "LOYALTY_TELEGRAM_TOKEN": TOKEN,
            "LOYALTY_TELEGRAM_API_URL": api,
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "loyalty.cli", "bot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            async with httpx.AsyncClient(base_url=api, timeout=10) as http:
                anna = Shopper(http, TOKEN, USER, "Анна")
                await anna.command("/start")
                ask = await anna.wait_for("поделитесь номером", timeout=120)  # the bot process starts
                assert ask["reply_markup"]["keyboard"][0][0]["request_contact"] is True

                await anna.share_contact("+79123456789")
                welcome = await anna.wait_for("Готово! Ваша карта")
                menu = {button["text"] for row in welcome["reply_markup"]["keyboard"] for button in row}
                assert {"💰 Баланс", "💳 Карта"} <= menu
                await anna.wait_for("дату рождения")
                await anna.say("31.12.1990")
                await anna.wait_for("Присылать вам в Telegram")

                await anna.say("💰 Баланс")
                balance = await anna.wait_for("Доступно:")
                await anna.say("💳 Карта")
                card = await anna.wait_for("Карта ")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nbot log:\n{(tmp_path / 'bot.log').read_text(errors='replace')[-3000:]}"
            ) from exc
        finally:
            bot.terminate()
            bot.wait(timeout=20)
    async with core.reading() as session:
        member = (await session.execute(select(Member).where(Member.telegram_user_id == USER))).scalar_one()
    assert member.phone == "+79123456789"
    assert member.card_number in welcome["text"]
    assert "Доступно: 100" in balance["text"]  # the welcome bonus
    assert member.card_number in card["text"]
    assert member.birth_date is not None
    assert member.birth_date.isoformat() == "1990-12-31"
