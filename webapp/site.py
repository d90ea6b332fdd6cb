"""App-wide web plumbing shared by the cabinet and the console: templates, static files, CSRF, gzip."""

from __future__ import annotations

from pathlib import Path

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from shared.config import Settings
from shared.i18n import translations

WEBAPP_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEBAPP_DIR / "templates"
STATIC_DIR = WEBAPP_DIR / "static"
# Machine endpoints authenticate otherwise (API keys, signatures, provider secrets): no CSRF there.
CSRF_COOKIE = "loyalty_csrf"
CSRF_EXEMPT = [
    "^/api/",
    "^/wallet/",
    "^/callbacks/",
    "^/unsubscribe/",
    "^/telegram/",
    "^/healthz",
    "^/schema",
    "^/swagger",
    "^/readyz",
    "^/metrics",
]

__all__ = [
    "CSRF_COOKIE",
    "CSRF_EXEMPT",
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "compression_config",
    "create_static_router",
    "csrf_config",
    "template_config",
]


def create_static_router() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86400, public=True),
        send_as_attachment=False,
    )


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("lang")).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("lang")).ngettext(singular, plural, abs(n))


def _install_i18n(engine: JinjaTemplateEngine) -> None:
    """`{% trans %}`, `_()` and `ngettext()` in templates, in the language the page put in `lang`."""
    engine.engine.add_extension("jinja2.ext.i18n")
    engine.engine.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_install_i18n)


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret,
        cookie_name=CSRF_COOKIE,
        header_name="x-csrftoken",
        cookie_secure=settings.cabinet.cookie_secure,
        cookie_httponly=True,
        cookie_samesite="strict",
        exclude=CSRF_EXEMPT,
    )


def compression_config() -> CompressionConfig:
    """gzip for pages and static files (a cheap phone on a slow network); machine endpoints stay as they are."""
    return CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude=CSRF_EXEMPT)
