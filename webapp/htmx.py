"""The one htmx convention of the cabinet and the console.

HTMXPlugin (webapp/app.py) makes every request an HTMXRequest, error handlers' included. An htmx
request gets the page's fragment, except a history restore (htmx lost its cache and wants the whole
page); every other request gets the full page. Navigation after a form is an HX-Redirect for htmx
(a redirect would land inside the swapped element) and a 303 otherwise."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """Sent by htmx (HX-Request: true)."""
    return isinstance(request, HTMXRequest) and bool(request.htmx)


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """Render only the fragment: an htmx request that is not a history restore."""
    return is_htmx(request) and not request.htmx.history_restore_request  # type: ignore[attr-defined]


def template(
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMXTemplate:
    """A page or its fragment (the context says which); caches keep the two apart by HX-Request."""
    return HTMXTemplate(
        template_name=name,
        context=context,
        status_code=status_code,
        media_type=MediaType.HTML,
        cookies=cookies,
        headers={"Vary": "HX-Request", **(headers or {})},
    )


def navigate(
    request: Request[Any, Any, Any],
    location: str,
    *,
    htmx_status: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """Send the browser to another page: HX-Redirect for htmx (a full page load), 303 otherwise."""
    if is_htmx(request):
        return Response(
            b"", status_code=htmx_status, headers={"HX-Redirect": location, **(headers or {})}, cookies=cookies
        )
    return Redirect(location, status_code=303, cookies=cookies, headers=headers)
