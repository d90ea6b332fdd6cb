"""The cabinet over the real create_app: plain-http local settings (so the test client keeps cookies)
and helpers to sign in with the code the LOGIN_CODE event carries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.clock import FixedClock
from shared.config import CabinetSettings, Settings
from shared.core import Core
from shared.db.models import Member, OutboxEvent
from shared.members import Registration, register
from tests.conftest import app_client

BASE = "http://127.0.0.1:8000"
PHONE = "+79161234567"
OTHER = "+79167654321"
HX = {"HX-Request": "true"}


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=var_dir,
        secret_key="test-secret-" + "x" * 32,
        public_url=BASE,
        cabinet=CabinetSettings(cookie_secure=False),
    )


@pytest.fixture
async def web(core: Core, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from webapp.app import create_app

    async with app_client(create_app(settings, core=core)) as http:
        http.base_url = httpx.URL(BASE)
        yield http


async def make_member(core: Core, phone: str = PHONE, **extra: Any) -> Member:
    async with core.transaction() as session:
        member, _ = await register(session, core.clock, core.rules, Registration(phone=phone, source="pos", **extra))
    return member


def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def csrf(web: httpx.AsyncClient) -> str:
    web.cookies.delete("loyalty_session")
    return csrf_of((await web.get("/cabinet/login")).text)


async def last_code(core: Core, phone: str = PHONE) -> str:
    async with core.reading() as session:
        events = (
            (
                await session.execute(
                    select(OutboxEvent).where(OutboxEvent.kind == "login_code").order_by(OutboxEvent.id.desc())
                )
            )
            .scalars()
            .all()
        )
    codes = [e.payload["code"] for e in events if e.payload.get("phone") == phone]
    assert codes, "no code was sent"
    return str(codes[0])


async def sign_in(web: httpx.AsyncClient, core: Core, phone: str = PHONE) -> httpx.Response:
    token = await csrf(web)
    sent = await web.post("/cabinet/login/code", data={"phone": phone, "_csrf_token": token})
    assert sent.status_code == 200, sent.text
    answer = await web.post(
        "/cabinet/login/verify", data={"phone": phone, "code": await last_code(core, phone), "_csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/cabinet/card", answer.text
    return answer


def later(core: Core, **delta: float) -> None:
    clock = core.clock
    assert isinstance(clock, FixedClock)
    clock.advance(**delta)
