"""Domain and framework errors -> JSON responses. One body shape for every error:
{"status_code", "detail", "errors": [{"field", "reason"}], "request_id"}."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Scope

from audit.log import record_denial
from kernel.context import request_id_var
from kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotVisible,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedFormat,
)
from kernel.schemas import CONTROL_REASON
from kernel.web_params import PRINTABLE

log = logging.getLogger(__name__)

_STATUS = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedFormat: 415,
    TooManyRequests: 429,
}


def _body(
    status: int, detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> Response[Any]:
    content = {
        "status_code": status,
        "detail": detail,
        "errors": errors or [],
        "request_id": request_id_var.get(),
        **extra,
    }
    return Response(content, status_code=status, media_type=MediaType.JSON)


def domain_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    if isinstance(exc, InvalidInput):
        return _body(
            status, "invalid input", [{"field": e.field, "reason": e.reason} for e in exc.errors]
        )
    if isinstance(exc, NotVisible):
        return _body(404, exc.message)
    field = exc.details.get("field")
    errors = [{"field": str(field), "reason": exc.message}] if field else None
    # References a client acts on, e.g. the existing claim a duplicate points to.
    references = {k: v for k, v in exc.details.items() if k.endswith("_id") and type(v) is int}
    response = _body(status, exc.message, errors, **references)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


_AT_PATH = re.compile(r" - at `\$\.?(.*)`$")
# msgspec names a missing field in its message, not in its path (the object's).
_MISSING = re.compile(r"^Object missing required field `([^`]+)`")
# A body's own check (kernel.schemas.Input) leads its message with the field it names.
_NAMED = re.compile(r"^`([^`]+)` ")
_MISSING_PARAMETER = re.compile(r"^Missing required \w+ parameter '([^']+)'")


def validation_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ValidationException)
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "invalid"))
        match = _AT_PATH.search(message)
        missing = _MISSING.search(message) or _NAMED.search(message)
        reason = _AT_PATH.sub("", message)
        if missing:
            within = match.group(1) if match else ""
            field = f"{within}.{missing.group(1)}" if within else missing.group(1)
            reason = _NAMED.sub("", reason)
        else:
            field = (
                item.get("key") or (match.group(1) if match else "") or item.get("source", "body")
            )
        if repr(PRINTABLE) in reason:  # msgspec's "Expected `str` matching regex '…'"
            reason = CONTROL_REASON
        errors.append({"field": str(field), "reason": reason})
    if not errors:
        missing = _MISSING_PARAMETER.search(str(exc.detail))
        reason = str(exc.detail).split(" for path ")[0]
        errors.append({"field": missing.group(1) if missing else "body", "reason": reason})
    return _body(400, "invalid request", errors)


def http_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # undecodable body: the body itself is the field
        return _body(400, "invalid request", [{"field": "body", "reason": str(exc.detail)}])
    if exc.status_code >= 500:  # a framework error's detail names internals
        return internal_error(_, exc)
    return _body(exc.status_code, str(exc.detail))


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", exc_info=exc)
    return _body(500, "internal server error; quote the request id when reporting it")


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}


async def audit_denials(exc: Exception, scope: Scope) -> None:
    """after_exception hook: every refused access lands in the audit log."""
    if not isinstance(exc, Forbidden | NotVisible):
        return
    user = scope.get("user")
    actor = getattr(user, "actor", "anonymous")
    method = scope.get("method", "")
    try:
        await record_denial(
            actor, f"{method} {scope.get('path', '')}", scope.get("path", ""), exc.message
        )
    except Exception:
        log.exception("could not record a permission denial in the audit log")
