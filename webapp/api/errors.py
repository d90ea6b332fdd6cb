"""RFC 9457 problem+json for every error the API can give; a 5xx is a bug and is logged."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.errors import DomainError
from webapp.api.bodies import core_problem

log = logging.getLogger("loyalty.api")
PROBLEM = "application/problem+json"
TYPES = "https://loyalty.example/problems/"


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": TYPES + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return problem(
        exc.status, exc.title, exc.detail, [{"field": e.field, "message": e.message} for e in exc.errors], **exc.extra
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException) and (found := core_problem(request, exc)) is not None:
        return domain_error(request, found)
    errors = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [
            {"field": str(e.get("key", "body")), "message": str(e.get("message", ""))}
            for e in exc.extra
            if isinstance(e, dict)
        ]
    detail = exc.detail
    if exc.status_code == 400 and "JSON" in detail:
        detail = "The body is not valid JSON."
    if exc.status_code == 413:
        detail = "The body is too large."
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Payload too large",
        415: "Unsupported media type",
        429: "Too many requests",
    }
    return problem(exc.status_code, titles.get(exc.status_code, "Error"), detail, errors)


def database_busy(request: Request[Any, Any, Any], exc: OperationalError) -> Response[Any]:
    """An overloaded (SQLite: locked) or unreachable database: a retry is safe."""
    if "locked" in str(exc):
        log.warning("database busy on %s %s: %s", request.method, route_of(request), exc.orig)
        return unavailable(request, "The database is busy; nothing was applied. Retry shortly.")
    return database_error(request, exc)


# SQLSTATEs of a database that is going away or not there yet: class 08 (connection exception),
# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up, shutting down),
# 53300 too many connections.
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def _is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (restarting, killed, refused, the connection dropped), as opposed
    to a statement it refused: the caller's retry will work once it is back."""
    for cause in _causes(exc):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, ConnectionError | TimeoutError):  # refused, reset, aborted, connect timeout
            return True
        sqlstate = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if sqlstate.startswith(UNAVAILABLE_STATES):
            return True
        if type(cause).__name__ in ("ConnectionDoesNotExistError", "ConnectionFailureError"):
            return True
        if isinstance(cause, OperationalError) and "connect" in str(cause).lower():
            return True
    return False


RETRY_AFTER = "1"  # seconds: a restart takes about that; a till retrying sooner only adds load
UNAVAILABLE_DETAIL = (
    "The database is unavailable. Retry shortly with the same request: a receipt, refund or member "
    "is applied once however often it is sent."
)


def unavailable(request: Request[Any, Any, Any], detail: str = UNAVAILABLE_DETAIL) -> Response[Any]:
    """503 with Retry-After: the database is down or restarting (nothing to fix on the caller's side)."""
    response: Response[Any]
    if request.url.path.startswith("/api/"):
        response = problem(503, "Service unavailable", detail)
    else:
        response = Response("Service unavailable: retry shortly", status_code=503, media_type=MediaType.TEXT)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def route_of(request: Request[Any, Any, Any]) -> str:
    """The route template (/unsubscribe/{token}), never the raw path: paths carry tokens and serials."""
    return str(request.scope.get("path_template") or "<unmatched>")


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
        if current in chain:
            break
    return chain


def _is_bad_value(exc: BaseException) -> bool:
    """A value the database cannot hold (SQLSTATE class 22: out of range, NUL in text, bad encoding):
    something from outside that slipped past a check, so the caller's 400, not our 500."""
    for cause in _causes(exc):
        sqlstate = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if sqlstate.startswith("22") or type(cause).__name__ == "DataError":
            return True
        if isinstance(cause, OverflowError) and ("INTEGER" in str(cause) or "int64" in str(cause)):
            return True
    return False


def database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A failed SQL statement. Its message carries the SQL parameters (phones, names): never logged,
    only the error's kind, SQLSTATE and where in our code it happened."""
    kind = " <- ".join(type(cause).__name__ for cause in _causes(exc))
    if _is_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, route_of(request), kind)
        return unavailable(request)
    if _is_bad_value(exc):
        log.warning("value refused by the database on %s %s: %s", request.method, route_of(request), kind)
        return problem(
            400,
            "Bad request",
            "A value in the request is out of range or has characters that cannot be stored; nothing was applied.",
            [{"field": "request", "message": "a value out of range or with control characters"}],
        )
    where = "".join(traceback.format_tb(exc.__traceback__)[-6:])
    log.error(
        "database error on %s %s: %s (SQL parameters not logged)\n%s", request.method, route_of(request), kind, where
    )
    if request.url.path.startswith("/api/"):
        return problem(500, "Internal error", "Something failed on our side; the operation was not applied.")
    return Response("Internal error", status_code=500, media_type=MediaType.TEXT)


def unreadable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body the framework could not decode (a form that is not UTF-8, JSON nested too deep):
    the caller's mistake, answered 400 naming the body; anything else of the kind is still a bug."""
    if isinstance(exc, UnicodeDecodeError) and request.method in ("POST", "PUT", "PATCH"):
        return problem(
            400, "Bad request", "The form is not UTF-8 text.", [{"field": "body", "message": "send the form as UTF-8"}]
        )
    if isinstance(exc, RecursionError) and "deserializ" in str(exc):
        return problem(
            400,
            "Bad request",
            "The body is not valid JSON: it is nested too deeply.",
            [{"field": "body", "message": "nested too deeply"}],
        )
    return server_error(request, exc)


def overflow(request: Request[Any, Any, Any], exc: OverflowError) -> Response[Any]:
    """SQLite's driver refuses an int beyond 64 bits before SQL runs (e.g. a path id of 20 digits)."""
    return database_error(request, exc) if _is_bad_value(exc) else server_error(request, exc)


def connection_error(request: Request[Any, Any, Any], exc: OSError) -> Response[Any]:
    """A connection refused or dropped below SQLAlchemy (asyncpg's connect raises the OSError itself)."""
    if _is_unavailable(exc):
        log.warning("connection failed on %s %s: %r", request.method, route_of(request), exc)
        return unavailable(request)
    return server_error(request, exc)


def pool_exhausted(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[Any]:
    """Every database connection of this process is busy (a burst beyond the pool): nothing was applied."""
    log.warning("no free database connection on %s %s", request.method, route_of(request))
    return unavailable(request, "The server is busy; nothing was applied. Retry shortly with the same request.")


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, route_of(request), exc_info=exc)
    if request.url.path.startswith("/api/"):
        return problem(500, "Internal error", "Something failed on our side; the operation was not applied.")
    return Response("Internal error", status_code=500, media_type=MediaType.TEXT)


EXCEPTION_HANDLERS = {
    DomainError: domain_error,
    HTTPException: http_error,
    OperationalError: database_busy,
    StatementError: database_error,
    PoolTimeout: pool_exhausted,
    OverflowError: overflow,
    ConnectionError: connection_error,
    TimeoutError: connection_error,
    UnicodeDecodeError: unreadable_body,
    RecursionError: unreadable_body,
    Exception: server_error,
}
