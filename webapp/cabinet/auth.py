"""Who is signed in: the session cookie's member, or a redirect to the login page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from shared.db.models import Member
from webapp.cabinet.session_cookie import SESSION_COOKIE, cleared, needs_rotation, read_session, session_cookie
from webapp.cabinet.views import settings_of
from webapp.deps import CoreDep, SettingsDep
from webapp.htmx import is_htmx, navigate

LOGIN_PATH = "/cabinet/login"
SignedIn = NamedDependency[Member]  # a handler parameter filled by provide_member


async def provide_member(request: Request[Any, Any, Any], core: CoreDep, settings: SettingsDep) -> Member:
    """The signed-in member; a stale session is rotated by a fresh cookie on this response."""
    now = core.clock.now()
    session = read_session(settings, request.cookies.get(SESSION_COOKIE), now)
    if session is None:
        raise NotAuthorizedException("no session")
    async with core.reading() as db:
        member = await db.get(Member, session.member_id)
    if member is None:
        raise NotAuthorizedException("member gone")
    if member.session_generation != session.generation:
        raise NotAuthorizedException("signed out")
    if needs_rotation(settings, session, now):
        request.state.cabinet_cookies = [session_cookie(settings, member.id, now, member.session_generation)]
    return member


def to_login(request: Request[Any, Any, Any], _: NotAuthorizedException) -> Response[Any]:
    """Full pages are redirected; htmx is told to navigate (a fragment would land inside the page)."""
    gone = cleared(settings_of(request), SESSION_COOKIE)
    if is_htmx(request):
        return navigate(request, LOGIN_PATH, htmx_status=401, cookies=[gone])
    if "json" in request.headers.get("content-type", "") or request.url.path.endswith((".json", ".svg")):
        return Response({"detail": "sign in first"}, status_code=401, cookies=[gone])
    return Redirect(LOGIN_PATH, status_code=303, cookies=[gone])
