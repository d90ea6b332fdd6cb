"""The PassKit log endpoint (no authentication, by Apple's protocol) writes only Apple's shape,
bounded, and never a forged log line."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from wallet.passkit_service import LOG_MAX_BODY, LOG_MAX_LINE, LOG_MAX_LINES

URL = "/wallet/apple/v1/log"
LOGGER = "loyalty.wallet.device"


def _written(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_a_device_message_is_logged(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    r = await client.post(URL, json={"logs": ["[2026-12-07] Web service error for pass.dev: 401"]})
    assert r.status_code == 200
    assert _written(caplog) == ["device log: [2026-12-07] Web service error for pass.dev: 401"]


async def test_newlines_and_control_characters_cannot_forge_log_lines(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    forged = (
        "ok\n2026-12-07 10:00:00 INFO loyalty.console: admin signed in\r\x1b[2Kcleared\x00"
        "\u2028next\u202egnp.exe\x85end"
    )
    r = await client.post(URL, json={"logs": [forged]})
    assert r.status_code == 200
    [line] = _written(caplog)
    assert not any(ch in line for ch in "\n\r\x1b\x00\u2028\u202e\x85")
    assert line.startswith("device log: ok 2026-12-07 10:00:00 INFO")
    assert "cleared" in line
    assert "gnp.exe" in line


async def test_each_line_is_capped(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    r = await client.post(URL, json={"logs": ["x" * 5000]})
    assert r.status_code == 200
    [line] = _written(caplog)
    assert len(line.removeprefix("device log: ")) == LOG_MAX_LINE
    assert line.endswith("…")


async def test_too_many_lines_or_too_large_a_body_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    many = await client.post(URL, json={"logs": ["line"] * (LOG_MAX_LINES + 1)})
    assert many.status_code == 413
    big = await client.post(
        URL, content=json.dumps({"logs": ["y" * (LOG_MAX_BODY + 1)]}), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: counted while reading
        yield b'{"logs": ["'
        for _ in range(64):
            yield b"z" * 1024
        yield b'"]}'

    streamed = await client.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert _written(caplog) == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b'["a"]', b'{"logs": "a"}', b'{"logs": [1, {"a": 2}]}', b'{"logs": ["\xff\xfe"]}', b"[" * 10000],
)
async def test_a_body_that_is_not_apples_shape_is_a_400(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    r = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert _written(caplog) == []
