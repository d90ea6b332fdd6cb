"""Typed request bodies and the core's own checks, kept as one source of truth.

Litestar decodes each body into its Struct (webapp.api.schemas): that gives the OpenAPI document its
types and bounds and refuses what is malformed. The core then reads the very JSON the till sent, as
before: its body hash decides a retry's idempotency and its checks word every field message. When the
Struct refuses a body first, the core's check runs on it, so the till gets the same problem+json
(every field, the same messages) it got before the bodies were typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException
from litestar.utils.scope.state import ScopeState

from shared.core import Core
from shared.errors import DomainError, FieldError, InvalidInput

BodyCheck = Callable[[dict[str, Any], Core], None]
CHECK = "body_check"  # the route handler's opt key naming its BodyCheck


async def raw_body(request: Request[Any, Any, Any]) -> Any:
    """The JSON as sent (already parsed by Litestar once, here from its cache)."""
    return await request.json()


def core_problem(request: Request[Any, Any, Any], exc: ValidationException) -> DomainError | None:
    """The core's answer to a body its Struct refused. None when the route has not opted in (opt CHECK)
    or the body is not a JSON object, which stays the framework's 400."""
    opt = getattr(request.scope.get("route_handler"), "opt", None) or {}
    raw = ScopeState.from_scope(request.scope).json
    if CHECK not in opt or not isinstance(raw, dict) or not _body_errors(exc):
        return None
    check: BodyCheck | None = opt[CHECK]
    if check is not None:
        try:
            check(raw, request.app.state.core)
        except DomainError as found:
            return found
    # The Struct is stricter than the core's check (or the route has none): still a 422 naming the
    # field, worded by msgspec.
    errors = [FieldError(_field(e.get("key")), str(e.get("message", ""))) for e in _body_errors(exc)]
    return InvalidInput("The request has invalid fields.", errors)


def _body_errors(exc: ValidationException) -> list[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return [e for e in extra if isinstance(e, dict) and e.get("source") == "body"]


def _field(key: object) -> str:
    return "body" if key in (None, "", "data") else str(key)
