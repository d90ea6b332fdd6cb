"""The one place where the web process is assembled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin

from shared.config import Settings
from shared.core import Core
from webapp.api import api_key_scheme, create_api_router
from webapp.api.errors import EXCEPTION_HANDLERS
from webapp.cabinet import create_cabinet_router
from webapp.console import create_console_router
from webapp.deps import runtime_dependencies
from webapp.health import healthz, readyz
from webapp.metrics import ObserveMiddleware, metrics
from webapp.passkit import create_passkit_router
from webapp.passkit import download as passkit_download
from webapp.provider_callbacks import create_callbacks_router
from webapp.security_headers import security_headers
from webapp.site import compression_config, create_static_router, csrf_config, template_config
from webapp.unsubscribe import create_unsubscribe_router

if TYPE_CHECKING:
    from bot.factory import Telegram


def create_app(settings: Settings, *, core: Core, telegram: Telegram | None = None) -> Litestar:
    """Build the web app from settings and the runtime the entry point made; nothing is wired at import time.
    With `telegram` (webhook mode) the app serves /telegram/webhook. On shutdown it closes the bot's
    session and FSM storage, then the core."""

    async def close_all(app: Litestar) -> None:
        if telegram is not None:
            await telegram.close()
        await core.close()

    handlers: list[Any] = [
        healthz,
        create_api_router(),
        create_callbacks_router(),
        create_unsubscribe_router(),
        create_passkit_router(),
        passkit_download,
        create_cabinet_router(),
        create_console_router(),
        create_static_router(),
        readyz,
        metrics,
    ]
    if telegram is not None:  # webhook mode; `loyalty bot` polls instead
        from webapp.bot_webhook import create_webhook_router

        secret = settings.telegram.webhook_secret
        handlers.append(
            create_webhook_router(telegram.bot, telegram.dispatcher, secret.get_secret_value() if secret else "")
        )
    app = Litestar(
        route_handlers=handlers,
        state=State({"core": core, "settings": settings}),  # for guards and middleware; handlers get DI
        dependencies=runtime_dependencies(core, settings),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        template_config=template_config(),
        csrf_config=csrf_config(settings),
        compression_config=compression_config(),
        plugins=[HTMXPlugin()],
        request_max_body_size=settings.max_body_bytes,
        before_send=[security_headers(settings)],  # CSP, nosniff, Referrer-Policy, HSTS on https
        on_shutdown=[close_all],
        openapi_config=OpenAPIConfig(
            title="Loyalty POS and integration API",
            version="1.0.0",
            path="/schema",
            description="Contract for tills and integrations. Money in minor units, points as integers, "
            "errors as RFC 9457 problem+json. Authorise with `Authorization: Bearer <key>`.",
            render_plugins=[RedocRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=api_key_scheme(),
        ),
        debug=False,
        logging_config=None,  # webapp/logs.py configures logging (text or JSON); Litestar would replace it
    )
    app.asgi_handler = ObserveMiddleware(app.asgi_handler, settings, core)  # request id, metrics, access log
    return app
