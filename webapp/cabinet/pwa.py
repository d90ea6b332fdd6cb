"""The installable part: web app manifest and the service worker, served under /cabinet so the
worker's scope covers every cabinet page."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from litestar import Request, Response, get
from litestar.response import Redirect

from webapp.cabinet.texts import translator
from webapp.cabinet.views import language_of
from webapp.deps import SettingsDep
from webapp.site import STATIC_DIR


@lru_cache(maxsize=4)
def _static_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


@get("/", include_in_schema=False)
async def landing() -> Redirect:
    """A newcomer opening the site lands on the cabinet (the login page when not signed in)."""
    return Redirect("/cabinet/card", status_code=303)


@get("/card", include_in_schema=False)
async def card_link() -> Redirect:
    """The short link the notifier puts in messages ("Card and balance: …/card")."""
    return Redirect("/cabinet/card", status_code=303)


@get("/cabinet/sw.js", include_in_schema=False)
async def service_worker() -> Response[str]:
    return Response(
        _static_text("sw.js"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/cabinet/"},
    )


@get("/cabinet/manifest.webmanifest", include_in_schema=False)
async def manifest(request: Request[Any, Any, Any], settings: SettingsDep) -> Response[str]:
    language = language_of(request)
    t = translator(language)
    name = settings.program.name
    body = {
        "name": f"{name}: {t('app_name')}",
        "short_name": name[:12],
        "lang": language,
        "start_url": "/cabinet/card",
        "scope": "/cabinet/",
        "id": "/cabinet/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#7a1030",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )
