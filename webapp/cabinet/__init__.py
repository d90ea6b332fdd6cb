"""The personal cabinet: a mobile-first PWA (jinja2 + htmx) for members."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, NotAuthorizedException

from webapp.cabinet.auth import to_login
from webapp.cabinet.login import LoginController
from webapp.cabinet.pages import PagesController
from webapp.cabinet.profile import ProfileController
from webapp.cabinet.pwa import card_link, landing, manifest, service_worker
from webapp.cabinet.views import render

__all__ = ["create_cabinet_router"]


def polite_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A page (or fragment) instead of JSON: wrong input, a stale form, a missing page."""
    key = {403: "csrf", 404: "not_found"}.get(exc.status_code, "bad_request")
    return render(request, "error", message=key, status=exc.status_code)  # type: ignore[arg-type]


def create_cabinet_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            LoginController,
            PagesController,
            ProfileController,
            landing,
            card_link,
            manifest,
            service_worker,
        ],
        exception_handlers={NotAuthorizedException: to_login, HTTPException: polite_error},
    )
