"""The personal cabinet: a mobile-first PWA (jinja2 + htmx) for members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from shared.config import Settings
from webapp.cabinet.auth import to_login
from webapp.cabinet.login import LoginController
from webapp.cabinet.pages import PagesController
from webapp.cabinet.profile import ProfileController
from webapp.cabinet.pwa import STATIC_DIR, card_link, landing, manifest, service_worker
from webapp.cabinet.views import render

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Machine endpoints authenticate otherwise (API keys, signatures, provider secrets): no CSRF there.
CSRF_EXEMPT = ["^/api/", "^/wallet/", "^/callbacks/", "^/unsubscribe/", "^/telegram/", "^/healthz", "^/schema",
               "^/swagger"]

__all__ = ["compression_config", "create_cabinet_router", "create_static_router", "csrf_config", "template_config"]


def polite_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A page (or fragment) instead of JSON: wrong input, a stale form, a missing page."""
    key = {403: "csrf", 404: "not_found"}.get(exc.status_code, "bad_request")
    return render(request, "error", message=key, status=exc.status_code)  # type: ignore[arg-type]


def create_cabinet_router() -> Router:
    return Router(path="/", route_handlers=[LoginController, PagesController, ProfileController, landing,
                                            card_link, manifest, service_worker],
                  exception_handlers={NotAuthorizedException: to_login, HTTPException: polite_error})


def create_static_router() -> Router:
    return create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False,
                                      cache_control=CacheControlHeader(max_age=86400, public=True),
                                      send_as_attachment=False)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine)


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(secret=settings.secret, cookie_name="loyalty_csrf", header_name="x-csrftoken",
                      cookie_secure=settings.cabinet.cookie_secure, cookie_httponly=True, cookie_samesite="strict",
                      exclude=CSRF_EXEMPT)


def compression_config() -> CompressionConfig:
    """gzip for pages and static files (a cheap phone on a slow network); machine endpoints stay as they are."""
    return CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude=CSRF_EXEMPT)
