"""Rendering: htmx requests get the page's fragment, full requests (and history restores) the page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from shared.config import Settings
from shared.db.models import Member
from shared.vocabulary import LANGUAGES
from webapp import htmx
from webapp.cabinet.texts import points_word, translator

FULL = "base.html.j2"
FRAGMENT = "partials/fragment.html.j2"


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    """For the rendering helpers and the exception handlers, which Litestar does not inject;
    handlers take `settings: SettingsDep` (webapp/deps.py)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def language_of(request: Request[Any, Any, Any], member: Member | None = None) -> str:
    if member is not None and member.language in LANGUAGES:
        return member.language
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "")
    if accept.lower().startswith("en"):
        return "en"
    return settings_of(request).program.language if settings_of(request).program.language in LANGUAGES else "ru"


def local_time(
    request: Request[Any, Any, Any], member: Member | None, moment: datetime, fmt: str, place: str | None = None
) -> str:
    """`moment` on the clock of `place` (a store's zone, checked when the store was saved), else the member's."""
    if place:
        return moment.astimezone(ZoneInfo(place)).strftime(fmt)
    zone = ZoneInfo(member.time_zone) if member and member.time_zone else settings_of(request).program.zone
    return moment.astimezone(zone).strftime(fmt)


def render(
    request: HTMXRequest,
    name: str,
    *,
    member: Member | None = None,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    fragment: str | None = None,
    language: str | None = None,
    **context: Any,
) -> Template:
    """The page `cabinet/<name>.html.j2`, or for htmx its fragment (or the named partial)."""
    language = language if language in LANGUAGES else language_of(request, member)
    partial = htmx.wants_fragment(request)
    cookies = [*(cookies or []), *getattr(request.state, "cabinet_cookies", [])]
    template = fragment if (partial and fragment) else f"cabinet/{name}.html.j2"
    return htmx.template(
        template,
        {
            "layout": FRAGMENT if partial else FULL,
            "t": translator(language),
            "points_word": points_word(language),
            "lang": language,
            "member": member,
            "page": name,
            "program": settings_of(request).program.name,
            **context,
        },
        status_code=status,
        cookies=cookies,
        headers={"Cache-Control": "private, no-cache"},
    )
