"""LOYALTY_LOG_FORMAT=json: one JSON object per line carrying the request id that X-Request-ID
returns; the access log by route template; phone numbers masked; a 500 logs no raw path."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import get
from litestar.params import FromPath

from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client
from webapp.app import create_app
from webapp.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@get("/boom/{token:str}", include_in_schema=False)
async def boom(token: FromPath[str]) -> None:
    raise RuntimeError("broken on purpose")


async def test_json_lines_carry_the_request_id_returned_as_x_request_id(
    core: Core, settings: Settings, api_key: str, restore_logging: None
) -> None:
    configured = settings.model_copy(update={"log_format": "json", "access_log": True})
    buffer = io.StringIO()
    configure_logging(configured, buffer)
    app = create_app(configured, core=core)
    app.register(boom)
    async with app_client(app, Authorization=f"Bearer {api_key}") as http:
        kept = await http.post(
            "/api/v1/members", json={"phone": "+79123456789"}, headers={"X-Request-ID": "till-7.receipt-42"}
        )
        made = await http.get(
            "/api/v1/members",
            params={"phone": "+79123456789"},
            headers={"X-Request-ID": "bad id\twith spaces " + "x" * 200},
        )
        failed = await http.get("/boom/secret-token-abc123")
    assert kept.headers["x-request-id"] == "till-7.receipt-42"
    assert made.headers["x-request-id"] != ""
    assert " " not in made.headers["x-request-id"]
    assert len(made.headers["x-request-id"]) == 32
    assert failed.status_code == 500
    records = lines(buffer)  # every line parses as JSON
    access = [r for r in records if r["logger"] == "loyalty.access"]
    assert {(r["method"], r["route"], r["status"], r["request_id"]) for r in access} >= {
        ("POST", "/api/v1/members", 201, "till-7.receipt-42"),
        ("GET", "/api/v1/members", 200, made.headers["x-request-id"]),
        ("GET", "/boom/{token}", 500, failed.headers["x-request-id"]),
    }
    assert all(isinstance(r["duration_ms"], float) for r in access)
    error = next(r for r in records if r["logger"] == "loyalty.api" and r["level"] == "ERROR")
    assert error["message"] == "unhandled error on GET /boom/{token}"
    assert error["request_id"] == failed.headers["x-request-id"]
    assert "RuntimeError" in error["exc"]
    assert not [r for r in records if "secret-token-abc123" in json.dumps(r)]  # the raw path is nowhere


async def test_phone_numbers_are_masked_in_any_log_line(settings: Settings, restore_logging: None) -> None:
    for fmt in ("json", "text"):
        buffer = io.StringIO()
        configure_logging(settings.model_copy(update={"log_format": fmt}), buffer)
        logging.getLogger("loyalty.test").warning("code sent to %s and to 8 (912) 345-67-80", "+79123456789")
        out = buffer.getvalue()
        assert "+79123456789" not in out
        assert "345-67-80" not in out
        assert "+7912***6789" in out
        assert "+7912***6780" in out


async def test_the_access_log_is_off_unless_asked_for(core: Core, settings: Settings, restore_logging: None) -> None:
    buffer = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), buffer)
    async with app_client(create_app(settings, core=core)) as http:
        answer = await http.get("/healthz")
    assert answer.headers["x-request-id"]
    assert not [r for r in lines(buffer) if r["logger"] == "loyalty.access"]


async def test_text_format_shows_the_request_id(core: Core, settings: Settings, restore_logging: None) -> None:
    buffer = io.StringIO()
    configured = settings.model_copy(update={"access_log": True})
    configure_logging(configured, buffer)
    async with app_client(create_app(configured, core=core)) as http:
        await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    line = next(x for x in buffer.getvalue().splitlines() if "loyalty.access" in x)
    assert "[abc-123]" in line
    assert "GET /healthz 200" in line
