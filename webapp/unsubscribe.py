"""One-click e-mail unsubscribe (RFC 8058) and its confirmation page, in Russian and English.

Mail clients POST ``List-Unsubscribe=One-Click`` to the signed link; people who open the link get a
page with a button that POSTs to the same address. Either way the member's e-mail consent is
withdrawn, recorded with its source and method. An altered link is refused with 403.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Response

from notifications.unsubscribe_links import UNSUBSCRIBE_SOURCE, verify_unsubscribe_token
from shared.db.models import Member
from shared.i18n import LANGUAGES, best_language, text
from shared.members import set_consent
from webapp.deps import CoreDep, SettingsDep

CONTEXT = "unsubscribe"  # the unsubscribe pages' part of the message catalogue (shared/locales)


def _t(lang: str, key: str) -> str:
    return text(lang, CONTEXT, key)


def _language(request: Request[Any, Any, Any]) -> str:
    chosen = str(request.query_params.get("lang", ""))
    if chosen in LANGUAGES:
        return chosen
    return best_language(request.headers.get("accept-language"))


def _page(lang: str, message: str, status: int = 200, form_action: str | None = None) -> Response[str]:
    t = {key: _t(lang, key) for key in ("title", "button")}
    form = ""
    if form_action:
        form = (
            f'<form method="post" action="{html.escape(form_action)}">'
            f'<input type="hidden" name="confirm" value="1">'
            f'<button type="submit">{t["button"]}</button></form>'
        )
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{t['title']}</title></head><body><main><h1>{t['title']}</h1>"
        f"<p>{html.escape(message)}</p>{form}</main></body></html>"
    )
    return Response(body, status_code=status, media_type="text/html; charset=utf-8")


@get("/{token:str}", include_in_schema=False)
async def unsubscribe_page(
    request: Request[Any, Any, Any], settings: SettingsDep, token: FromPath[str]
) -> Response[str]:
    lang = _language(request)
    if verify_unsubscribe_token(settings, token) is None:
        return _page(lang, _t(lang, "bad"), 403)
    return _page(lang, _t(lang, "ask"), form_action=f"/unsubscribe/{token}?lang={lang}")


@post("/{token:str}", status_code=200, include_in_schema=False)
async def unsubscribe(
    request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep, token: FromPath[str]
) -> Response[str]:
    lang = _language(request)
    member_id = verify_unsubscribe_token(settings, token)
    if member_id is None:
        return _page(lang, _t(lang, "bad"), 403)
    try:
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
    except Exception:
        one_click = False
    async with core.transaction() as session:
        member = await session.get(Member, member_id)
        if member is None:
            return _page(lang, _t(lang, "unknown"), 404)
        await set_consent(
            session,
            core.clock,
            member,
            "email",
            False,
            source=UNSUBSCRIBE_SOURCE,
            method="one-click" if one_click else "confirm-page",
        )
    return _page(lang, _t(lang, "done"))


def create_unsubscribe_router() -> Router:
    return Router(path="/unsubscribe", route_handlers=[unsubscribe_page, unsubscribe])
