"""RFC 9457 problem+json for every error the API can give; a 5xx is a bug and is logged."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import OperationalError

from shared.errors import DomainError

log = logging.getLogger("loyalty.api")
PROBLEM = "application/problem+json"
TYPES = "https://loyalty.example/problems/"


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None,
            **extra: Any) -> Response[dict[str, Any]]:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {"type": TYPES + slug, "title": title, "status": status, "detail": detail,
                            "errors": errors or []}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.title, exc.detail,
                   [{"field": e.field, "message": e.message} for e in exc.errors], **exc.extra)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    errors = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [{"field": str(e.get("key", "body")), "message": str(e.get("message", ""))}
                  for e in exc.extra if isinstance(e, dict)]
    detail = exc.detail
    if exc.status_code == 400 and "JSON" in detail:
        detail = "The body is not valid JSON."
    if exc.status_code == 413:
        detail = "The body is too large."
    titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 413: "Payload too large", 415: "Unsupported media type",
              429: "Too many requests"}
    return problem(exc.status_code, titles.get(exc.status_code, "Error"), detail, errors)


def database_busy(request: Request[Any, Any, Any], exc: OperationalError) -> Response[Any]:
    """An overloaded or unreachable database: nothing was applied and a retry is safe."""
    if "locked" not in str(exc) and "connect" not in str(exc).lower():
        return server_error(request, exc)
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc.orig)
    response = problem(503, "Service unavailable", "The database is busy; nothing was applied. Retry shortly.")
    response.headers["Retry-After"] = "1"
    return response


def unreadable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body the framework could not decode (a form that is not UTF-8, JSON nested too deep):
    the caller's mistake, answered 400 naming the body; anything else of the kind is still a bug."""
    if isinstance(exc, UnicodeDecodeError) and request.method in ("POST", "PUT", "PATCH"):
        return problem(400, "Bad request", "The form is not UTF-8 text.",
                       [{"field": "body", "message": "send the form as UTF-8"}])
    if isinstance(exc, RecursionError) and "deserializ" in str(exc):
        return problem(400, "Bad request", "The body is not valid JSON: it is nested too deeply.",
                       [{"field": "body", "message": "nested too deeply"}])
    return server_error(request, exc)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if request.url.path.startswith("/api/"):
        return problem(500, "Internal error", "Something failed on our side; the operation was not applied.")
    return Response("Internal error", status_code=500, media_type=MediaType.TEXT)


EXCEPTION_HANDLERS = {DomainError: domain_error, HTTPException: http_error, OperationalError: database_busy,
                      UnicodeDecodeError: unreadable_body, RecursionError: unreadable_body, Exception: server_error}
