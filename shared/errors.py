"""Domain errors. Web, bot and CLI layers translate them into their own answers."""

from __future__ import annotations

from dataclasses import dataclass, field


class ConfigError(Exception):
    """A setting or a program rule is wrong; the message names the key."""


class DomainError(Exception):
    """Base of errors a caller caused and can act on."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class KeyRevoked(DomainError):
    """The API key a request was let in with was revoked (found in the request's own transaction)."""

    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str, key_id: int) -> None:
        super().__init__(detail)
        self.key_id = key_id


class NotEnoughPoints(DomainError):
    status = 422
    title = "Not enough points"


@dataclass
class FieldErrors:
    """Collects field errors and raises them together."""

    items: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str) -> None:
        self.items.append(FieldError(field_name, message))

    def raise_if_any(self, detail: str = "The request has invalid fields.") -> None:
        if self.items:
            raise InvalidInput(detail, self.items)
