"""The one place where the web process is assembled."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin

from shared.clock import Clock
from shared.config import Settings
from shared.core import Core
from webapp.api import create_api_router
from webapp.api.errors import EXCEPTION_HANDLERS
from webapp.cabinet import create_cabinet_router
from webapp.console import create_console_router
from webapp.health import healthz, readyz
from webapp.metrics import ObserveMiddleware, metrics
from webapp.passkit import create_passkit_router
from webapp.passkit import download as passkit_download
from webapp.provider_callbacks import create_callbacks_router
from webapp.security_headers import security_headers
from webapp.site import compression_config, create_static_router, csrf_config, template_config
from webapp.unsubscribe import create_unsubscribe_router


def create_app(settings: Settings, clock: Clock | None = None, core: Core | None = None) -> Litestar:
    """Build the web app from settings; nothing is wired at import time."""
    core = core or Core(settings, clock)

    async def close_core(app: Litestar) -> None:
        await app.state.core.close()

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
    if settings.telegram.token is not None:  # webhook mode; `loyalty bot` polls instead
        from bot.factory import create_bot, create_dispatcher
        from wallet.links import wallet_links
        from webapp.bot_webhook import create_webhook_router

        secret = settings.telegram.webhook_secret
        handlers.append(
            create_webhook_router(
                create_bot(settings),
                create_dispatcher(core, settings, wallet_links),
                secret.get_secret_value() if secret else "",
            )
        )
    app = Litestar(
        route_handlers=handlers,
        state=State({"core": core, "settings": settings}),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        template_config=template_config(),
        csrf_config=csrf_config(settings),
        compression_config=compression_config(),
        plugins=[HTMXPlugin()],
        request_max_body_size=settings.max_body_bytes,
        before_send=[security_headers(settings)],  # CSP, nosniff, Referrer-Policy, HSTS on https
        on_shutdown=[close_core],
        openapi_config=OpenAPIConfig(
            title="Loyalty POS and integration API",
            version="1.0.0",
            path="/schema",
            description="Contract for tills and integrations. Money in minor units, points as integers, "
            "errors as RFC 9457 problem+json. Authorise with `Authorization: Bearer <key>`.",
            render_plugins=[RedocRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
        logging_config=None,  # webapp/logs.py configures logging (text or JSON); Litestar would replace it
    )
    app.asgi_handler = ObserveMiddleware(app.asgi_handler, settings, core)  # request id, metrics, access log
    return app
