"""A failed SQL statement never logs its parameters (phones, names), and a value the database cannot
hold (a 20-digit id, NUL in text) is the caller's 400, not our 500: the guard in webapp/api/errors.py."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Request, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client

PHONE = "+79161234567"


@get("/api/v1/test-broken-statement", include_in_schema=False)
async def broken_statement(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A bug stand-in: an INSERT that breaks a NOT NULL constraint, with a phone among its parameters."""
    core: Core = request.app.state.core
    async with core.transaction() as session:
        await session.execute(
            text("INSERT INTO members (id, phone) VALUES (:id, :phone)"),
            {"id": "00000000-0000-0000-0000-000000000001", "phone": PHONE},
        )
    return {"status": "unreachable"}


@get("/api/v1/test-pool-exhausted", include_in_schema=False)
async def pool_exhausted(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Every connection of a pool taken (a burst beyond the pool's size): the pool's own timeout."""
    core: Core = request.app.state.core
    engine = create_async_engine(core.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with engine.connect(), engine.connect():
            pass
    finally:
        await engine.dispose()
    return {"status": "unreachable"}


@pytest.fixture
async def web(core: Core, settings: Settings, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    from webapp.app import create_app

    app = create_app(settings, core=core)
    app.register(broken_statement)
    app.register(pool_exhausted)
    async with app_client(app, Authorization=f"Bearer {api_key}") as http:
        yield http


async def test_a_failed_statement_is_a_500_that_logs_no_parameters(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # aiosqlite logs every statement at DEBUG
    r = await web.get("/api/v1/test-broken-statement")
    assert r.status_code == 500
    assert r.json()["title"] == "Internal error"
    assert PHONE not in r.text
    assert "IntegrityError" in caplog.text
    assert PHONE not in caplog.text
    assert "SQL parameters not logged" in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/promotions/99999999999999999999",
        f"/api/v1/promotions/{2**63}",
        "/api/v1/promotions/-99999999999999999999",
        f"/api/v1/code-batches/{2**64}/codes.csv",
        f"/api/v1/bonus-grants/{10**30}",
    ],
)
async def test_an_id_beyond_64_bits_is_a_bad_request_not_a_crash(
    web: httpx.AsyncClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # aiosqlite logs every statement at DEBUG
    r = await web.get(path)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "request"
    number = max(re.findall(r"\d+", path), key=len)
    assert number not in caplog.text.replace(path, "")  # the log names the route template, not the value


async def test_a_pool_with_no_free_connection_is_a_503_to_retry(web: httpx.AsyncClient) -> None:
    r = await web.get("/api/v1/test-pool-exhausted")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["title"] == "Service unavailable"
