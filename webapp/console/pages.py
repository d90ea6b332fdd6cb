"""Rendering for the console: full pages, or fragments for htmx requests; polite error pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template

from shared.errors import DomainError, FieldError
from shared.i18n import LANGUAGES, best_language, gettext
from shared.staff import ADMIN, ANALYST, MARKETER, PARTNER, SUPPORT, StaffView
from webapp import htmx
from webapp.console.session import issue_cookie
from webapp.health import certificate_warnings

READ_REPORTS = (ADMIN, MARKETER, ANALYST)
EDIT_PROGRAM = (ADMIN, MARKETER)
MEMBER_TOOLS = (ADMIN, SUPPORT)
ADMIN_ONLY = (ADMIN,)

# Only pages that exist, each shown to the roles that may open it.
NAVIGATION = (
    ("/console/reports", "Reports", READ_REPORTS),
    ("/console/program", "Program settings", READ_REPORTS),
    ("/console/segments", "Segments", READ_REPORTS),
    ("/console/campaigns", "Campaigns", READ_REPORTS),
    ("/console/chains", "Chains", READ_REPORTS),
    ("/console/members", "Members", MEMBER_TOOLS),
    ("/console/staff", "Staff", ADMIN_ONLY),
    ("/console/audit", "Audit log", ADMIN_ONLY),
    ("/console/webhooks", "Webhooks", ADMIN_ONLY),
    ("/console/stores", "Stores", ADMIN_ONLY),
    ("/console/partners", "Partners", ADMIN_ONLY),
    ("/console/settlements", "Settlements", (ADMIN, ANALYST, PARTNER)),
    ("/console/partner", "Our stores", (PARTNER,)),
)

# Each language named in itself, for the picker in the header.
LANGUAGE_NAMES = (("ru", "Русский"), ("en", "English"))


def current_staff(request: Request[Any, Any, Any]) -> StaffView:
    staff: StaffView = request.state.staff
    return staff


def _cert_warnings(request: Request[Any, Any, Any]) -> list[str]:
    return certificate_warnings(request.app.state.settings, request.app.state.core.clock.now())


def console_language(request: Request[Any, Any, Any]) -> str:
    """The language the staff member picked, else the browser's (ru or en; ru when it asks for neither)."""
    staff = getattr(request.state, "staff", None)
    if staff is not None and staff.language in LANGUAGES:
        return str(staff.language)
    return best_language(request.headers.get("accept-language"))


def _(request: Request[Any, Any, Any], message: str, **values: Any) -> str:
    """A console text (English msgid) in the page's language."""
    return gettext(console_language(request), message, **values)


def page(request: Request[Any, Any, Any], name: str, status_code: int = 200, **context: Any) -> Template:
    """The template extends the layout for a full request and only the fragment for htmx."""
    staff = getattr(request.state, "staff", None)
    lang = console_language(request)
    nav = [
        (href, gettext(lang, label)) for href, label, roles in NAVIGATION if staff is not None and staff.role in roles
    ]
    cookies = (
        [issue_cookie(request.app.state.core, staff, getattr(request.state, "session_started", None))]
        if staff is not None and getattr(request.state, "renew_session", False)
        else None
    )
    return htmx.template(
        name,
        {
            "fragment": htmx.wants_fragment(request),
            "staff": staff,
            "nav": nav,
            "path": request.url.path,
            "lang": lang,
            "languages": LANGUAGE_NAMES,
            "cert_warnings": _cert_warnings(request) if staff else [],
            **context,
        },
        status_code=status_code,
        cookies=cookies,
    )


def _problem_page(
    request: Request[Any, Any, Any], status: int, title: str, detail: str, errors: list[Any] | None = None
) -> Response[Any]:
    return page(
        request,
        "console/error.html.j2",
        status_code=status,
        title=_(request, title),
        detail=_(request, detail),
        errors=errors or [],
    )


def not_signed_in(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if htmx.is_htmx(request):  # htmx follows HX-Redirect with a full page load
        return htmx.navigate(request, "/console/login", htmx_status=401)
    if request.method == "GET":
        return Redirect("/console/login", status_code=303)
    return _problem_page(request, 401, "Signed out", "Your session has ended; sign in again.")


def forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    detail = exc.detail
    if "CSRF" in detail:
        detail = "The form had expired or came from elsewhere; reload the page and try again."
    return _problem_page(request, 403, "Not allowed", detail)


def domain_problem(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _problem_page(request, exc.status, exc.title, exc.detail, exc.errors)


def http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    titles = {400: "Bad request", 404: "Not found", 405: "Not allowed", 413: "Too large", 429: "Too many attempts"}
    detail = "Some fields are missing or malformed." if exc.status_code == 400 else exc.detail
    errors = [
        FieldError(str(e.get("key", "form")), str(e.get("message", "")))
        for e in (exc.extra if isinstance(exc, ValidationException) and isinstance(exc.extra, list) else [])
        if isinstance(e, dict)
    ]
    return _problem_page(request, exc.status_code, titles.get(exc.status_code, "Error"), detail, errors)


EXCEPTION_HANDLERS = {
    NotAuthorizedException: not_signed_in,
    PermissionDeniedException: forbidden,
    DomainError: domain_problem,
    HTTPException: http_problem,
}
