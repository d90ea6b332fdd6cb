"""`loyalty serve` behind a reverse proxy: X-Forwarded-For is believed only from LOYALTY_TRUSTED_PROXIES, so
per-address limits count shoppers, not the proxy (and a shopper cannot forge an address past it)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from shared.config import Settings
from shared.core import Core
from shared.db.models.login_codes import LoginCode
from tests.stubs.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOPPER_A, SHOPPER_B = "203.0.113.7", "198.51.100.9"


@asynccontextmanager
async def serving(settings: Settings, trusted: str | None) -> AsyncIterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": settings.db_url,
        "LOYALTY_VAR_DIR": str(settings.var_dir),
        "LOYALTY_SECRET_KEY": "proxy-" + "k" * 40,
        "LOYALTY_PUBLIC_URL": base,
        "LOYALTY_CABINET_COOKIE_SECURE": "false",
        "LOYALTY_CABINET_CODES_PER_IP_HOUR": "1",
        "LOYALTY_ENV_FILE": os.devnull,  # a developer's .env must not change the test
    }
    env.pop("LOYALTY_TRUSTED_PROXIES", None)
    if trusted is not None:
        env["LOYALTY_TRUSTED_PROXIES"] = trusted
    if settings.db_statement_cache_size is not None:
        env["LOYALTY_DB_STATEMENT_CACHE_SIZE"] = str(settings.db_statement_cache_size)
    command = [sys.executable, "-m", "loyalty.cli", "serve", "--port", str(port)]
    # starting it does not block; waiting for it is done off the loop
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(300):
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else "exited"
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield base
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 20)


async def ask_code(base: str, phone: str, forwarded_for: str) -> int:
    """A shopper asks for a login code through the proxy (which adds X-Forwarded-For)."""
    async with httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/cabinet/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        answer = await http.post(
            "/cabinet/login/code",
            data={"phone": phone, "_csrf_token": token.group(1)},
            headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "http"},
        )
        return answer.status_code


async def recorded_addresses(core: Core) -> list[str]:
    async with core.reading() as session:
        return list((await session.execute(select(LoginCode.ip).order_by(LoginCode.id))).scalars())


async def test_a_trusted_proxy_passes_each_shoppers_address(core: Core, settings: Settings) -> None:
    async with serving(settings, "127.0.0.1") as base:
        assert await ask_code(base, "+79161110001", SHOPPER_A) == 200
        # a forged first hop is ignored: the address the proxy saw (the last one) counts
        assert await ask_code(base, "+79161110002", f"6.6.6.6, {SHOPPER_B}") == 200
        assert await ask_code(base, "+79161110003", SHOPPER_A) == 429  # one code per address and hour here
    assert await recorded_addresses(core) == [SHOPPER_A, SHOPPER_B]


@pytest.mark.parametrize("trusted", [None, "10.9.9.9,192.168.0.0/16"])
async def test_forwarded_headers_from_anyone_else_are_ignored(
    core: Core, settings: Settings, trusted: str | None
) -> None:
    async with serving(settings, trusted) as base:
        assert await ask_code(base, "+79161110001", SHOPPER_A) == 200
        assert await ask_code(base, "+79161110002", SHOPPER_B) == 429  # the same (real) address
    assert await recorded_addresses(core) == ["127.0.0.1"]
