"""Security headers on every response of the web process (pages, API, static files, errors, 404s).

- Content-Security-Policy: scripts and styles only from our origin, no inline script, no eval,
  no plugins, forms post only to us, and no framing (`frame-ancestors 'none'`), except:
  * the Telegram Mini App page (/cabinet/telegram), which Telegram's web clients open in a frame:
    it may be framed by https://web.telegram.org and https://*.telegram.org only;
  * the API reference (/schema, Redoc and Swagger UI from Litestar), whose pages are built with an
    inline script and a CDN bundle: a looser policy for those paths only (no user data there).
- X-Content-Type-Options: nosniff; Referrer-Policy: same-origin; X-Frame-Options: DENY where
  framing is refused (for browsers without CSP level 2).
- Strict-Transport-Security only when LOYALTY_PUBLIC_URL is https (a plain-http install would
  otherwise lock browsers out of itself).

Set through Litestar's `before_send`, which sees every response the app sends, including the
exception handlers' and the router's 404s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shared.config import Settings

TELEGRAM_PAGES = ("/cabinet/telegram",)
TELEGRAM_ANCESTORS = "https://web.telegram.org https://*.telegram.org"
DOCS_PREFIX = "/schema"
HSTS = "max-age=31536000"

_BASE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)
PAGE_POLICY = f"{_BASE}; frame-ancestors 'none'"
TELEGRAM_POLICY = f"{_BASE}; frame-ancestors {TELEGRAM_ANCESTORS}"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.redoc.ly https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net; "
    "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: https://cdn.jsdelivr.net "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def policy_for(path: str) -> str:
    if path in TELEGRAM_PAGES:
        return TELEGRAM_POLICY
    if path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/"):
        return DOCS_POLICY
    return PAGE_POLICY


def _header_lists(https: bool) -> dict[str, list[tuple[bytes, bytes]]]:
    """The raw header pairs each policy adds, built once per app rather than per response."""
    lists: dict[str, list[tuple[bytes, bytes]]] = {}
    for policy in (PAGE_POLICY, TELEGRAM_POLICY, DOCS_POLICY):
        pairs = [
            (b"content-security-policy", policy.encode("latin-1")),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if policy is not TELEGRAM_POLICY:
            pairs.append((b"x-frame-options", b"DENY"))
        if https:
            pairs.append((b"strict-transport-security", HSTS.encode("latin-1")))
        lists[policy] = pairs
    return lists


_OURS = frozenset(
    {
        b"content-security-policy",
        b"x-content-type-options",
        b"referrer-policy",
        b"x-frame-options",
        b"strict-transport-security",
    }
)


def security_headers(settings: Settings) -> Callable[[Any, Any], Awaitable[None]]:
    """The `before_send` hook adding the headers to each response's start message (replacing any
    the response set itself)."""
    lists = _header_lists(settings.public_url.startswith("https://"))

    async def add_headers(message: Any, scope: Any) -> None:
        if message.get("type") != "http.response.start":
            return
        headers = message.get("headers") or ()
        for name, _ in headers:
            if name.lower() in _OURS:
                headers = [(n, v) for n, v in headers if n.lower() not in _OURS]
                break
        message["headers"] = [*headers, *lists[policy_for(scope.get("path", ""))]]

    return add_headers


__all__ = ["DOCS_POLICY", "PAGE_POLICY", "TELEGRAM_ANCESTORS", "TELEGRAM_POLICY", "policy_for", "security_headers"]
