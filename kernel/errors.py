"""Domain errors. The web edge (app.http_errors) maps them to status codes, so
services never raise HTTP exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    """The actor is known but may not do this (wrong role, four-eyes rule)."""

    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class TooLarge(DomainError):
    """An upload over its size limit (413)."""

    code = "too_large"


class UnsupportedFormat(DomainError):
    """An upload in a format the endpoint does not read (415)."""

    code = "unsupported_format"


class TooManyRequests(DomainError):
    """Refused for now (429); `retry_after`: whole seconds until a new attempt."""

    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


@dataclass
class InvalidInput(DomainError):
    errors: list[FieldError] = field(default_factory=list)

    code = "invalid_input"

    def __post_init__(self) -> None:
        summary = "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
        DomainError.__init__(self, summary or "invalid input")

    @classmethod
    def single(cls, field_name: str, reason: str) -> InvalidInput:
        return cls([FieldError(field_name, reason)])


class NotVisible(NotFound):
    """Another organisation's record: answered exactly like a missing one (404), but
    recorded in the audit log as a denied access."""

    code = "not_found"
