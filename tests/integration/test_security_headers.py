"""Every response carries the security headers; pages hold no inline script or style that the
Content-Security-Policy would block; only the Telegram Mini App page may be framed, by Telegram."""

from __future__ import annotations

import re

import httpx
import pytest

from shared.config import Settings
from shared.core import Core
from tests.conftest import app_client

STRICT = [
    "/cabinet/login",
    "/cabinet/register",
    "/console/login",
    "/api/v1/members?phone=%2B79123456789",
    "/static/cabinet.js",
    "/no/such/page",
    "/healthz",
    "/wallet/apple/v1/log",
]


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip()[len(part.split()[0]) :].strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", STRICT)
async def test_every_response_has_the_headers_and_refuses_framing(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"
    csp = directives(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert "strict-transport-security" not in r.headers  # the public URL is http here


async def test_the_telegram_mini_app_page_may_be_framed_by_telegram_only(client: httpx.AsyncClient) -> None:
    r = await client.get("/cabinet/telegram")
    assert r.status_code == 200
    csp = directives(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == "https://web.telegram.org https://*.telegram.org"
    assert csp["script-src"] == "'self'"
    assert "x-frame-options" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_the_api_reference_has_its_own_policy(client: httpx.AsyncClient) -> None:
    r = await client.get("/schema")
    assert r.status_code == 200
    csp = directives(r.headers["content-security-policy"])
    assert "https://cdn.redoc.ly" in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'"
    cabinet = directives((await client.get("/cabinet/login")).headers["content-security-policy"])
    assert "cdn" not in cabinet["script-src"]


async def test_hsts_only_when_the_public_url_is_https(core: Core, settings: Settings) -> None:
    from webapp.app import create_app

    secure = settings.model_copy(update={"public_url": "https://loyalty.example.com"})
    async with app_client(create_app(secure, core=core)) as http:
        for path in ("/cabinet/login", "/no/such/page", "/healthz"):
            r = await http.get(path)
            assert r.headers["strict-transport-security"] == "max-age=31536000"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\s(on[a-z]+|style)\s*=", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/cabinet/login", "/cabinet/register", "/cabinet/telegram", "/console/login"])
async def test_pages_have_no_inline_script_handlers_or_style(client: httpx.AsyncClient, path: str) -> None:
    page = (await client.get(path)).text
    assert not INLINE_SCRIPT.search(page)
    assert not HANDLER.search(page)
    assert "javascript:" not in page
    assert "<style" not in page


def test_no_template_has_inline_script_or_style() -> None:
    from webapp.site import TEMPLATES_DIR

    offenders = []
    for template in TEMPLATES_DIR.rglob("*.j2"):
        text = template.read_text(encoding="utf-8")
        if INLINE_SCRIPT.search(text) or HANDLER.search(text) or "javascript:" in text or "<style" in text:
            offenders.append(str(template.relative_to(TEMPLATES_DIR)))
    assert offenders == []
