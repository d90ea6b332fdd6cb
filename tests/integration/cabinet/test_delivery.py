"""The cabinet's messages really leave: the login code by SMS, the confirmation link by e-mail (log provider)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from notifications.channels.log import LogChannel
from notifications.worker import Worker
from shared.core import Core
from tests.integration.cabinet.conftest import PHONE, csrf, csrf_of, make_member


async def test_code_and_confirmation_link_reach_the_member(web: httpx.AsyncClient, core: Core, tmp_path: Path) -> None:
    sink = tmp_path / "messages.jsonl"
    worker = Worker(core, {name: LogChannel(name, sink) for name in ("sms", "viber", "email", "push", "telegram")})
    await make_member(core)
    token = await csrf(web)
    await web.post("/cabinet/login/code", data={"phone": PHONE, "_csrf_token": token})
    await worker.run_once()
    (sms,) = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    assert sms["channel"] == "sms"
    assert sms["to"] == PHONE
    assert sms["kind"] == "login_code"
    code = sms["text"].split("Код входа: ")[1][:6]
    done = await web.post("/cabinet/login/verify", data={"phone": PHONE, "code": code, "_csrf_token": token})
    assert done.status_code == 303
    token = csrf_of((await web.get("/cabinet/profile")).text)
    await web.post("/cabinet/profile/email", data={"email": "anna@example.com", "_csrf_token": token})
    await worker.run_once()
    lines = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    email = lines[-1]
    assert email["channel"] == "email"
    assert email["to"] == "anna@example.com"
    assert email["subject"] == "Подтвердите e-mail"
    assert "/cabinet/email/confirm?token=" in email["text"]
    link = next(word for word in email["text"].split() if "/cabinet/email/confirm" in word)
    assert (await web.get(link.removeprefix("http://127.0.0.1:8000"))).status_code == 303
