"""RFC 9457 problem details as the OpenAPI document shows them (the bodies are built in webapp.api.errors)."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

from webapp.api.errors import PROBLEM


class FieldProblem(Struct):
    field: str
    message: str


class ProblemDetails(Struct):
    """An error: `type` names the kind, `errors` says what is wrong with which field. Some problems add members,
    e.g. `max` when more points are asked than a receipt allows."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem]


_MEANINGS = {
    400: "The body is not JSON, or not an object, or a value is out of range",
    401: "No API key, or an unknown or revoked one",
    403: "The operation needs a staff API key, or a partner's key was used at a store not its own",
    404: "Not found",
    409: "The same id was already used with a different body",
    413: "The body is too large",
    422: "A field is invalid: `errors` names each one",
    429: "Too many requests",
    503: "The database is busy; nothing was applied, retry shortly",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json answers an operation can give, for the OpenAPI document (401 is on every operation)."""
    codes = sorted({400, 401, *statuses})
    return {
        code: ResponseSpec(
            data_container=ProblemDetails, description=_MEANINGS[code], media_type=PROBLEM, generate_examples=False
        )
        for code in codes
    }


def also_200(container: type[Struct], description: str) -> dict[int, ResponseSpec]:
    """A second success status of an operation (e.g. 200 for a retry answered with the original)."""
    return {200: ResponseSpec(data_container=container, description=description, generate_examples=False)}
