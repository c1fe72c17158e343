"""The OpenAPI document and its docs page: security schemes, the error answers each
operation can give (added by rule from what each route handler declares, so a new route
is documented without hand edits), each operation's summary taken from its handler's
docstring, and Swagger UI served from the service itself, so the page works on a network
without the internet."""

from __future__ import annotations

import re
from inspect import cleandoc
from pathlib import Path

import swagger_ui
from litestar import Litestar, Router
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router

from app.auth import PUBLIC_OPT
from kernel.schemas import Output

ASSETS = "/schema/assets"  # under /schema: the auth middleware lets it through
SWAGGER_DIST = Path(swagger_ui.__file__).parent / "static"

SECURITY_SCHEMES = {
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        description="A staff login token (st_…) from POST /api/v1/auth/login, or an "
        "organisation API key (sk_…), as `Authorization: Bearer …`",
    ),
    "apiKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="An organisation API key (sk_…)",
    ),
}
SIGNED_IN = [{"bearer": []}, {"apiKey": []}]

# Answered 429 by throttling outside Litestar's rate-limit middleware.
THROTTLED = {("POST", "/api/v1/auth/login")}
# Reads answered 409: a period reaching a year whose holiday schedule is not entered.
CONFLICTING_READS = {("GET", "/api/v1/calendar/working-days")}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Handler arguments that are not client input.
NOT_INPUT = {"request", "state", "scope", "self"}


class FieldErrorOut(Output):
    field: str
    reason: str


class ErrorOut(Output):
    """Every error has this shape (app.http_errors); some add the id of a record they
    point to, such as the existing claim a duplicate names."""

    status_code: int
    detail: str
    errors: list[FieldErrorOut]
    request_id: str | None = None


_REASONS = {
    400: "Invalid input: `errors` names each field or parameter and why",
    401: "Missing, unknown, expired or revoked credentials",
    403: "The credentials' role or organisation may not do this",
    404: "No such record, or one the caller may not see",
    409: "The record's state forbids this, or a duplicate exists",
    413: "The body or file is larger than the limit",
    415: "The file is not in a format this operation reads",
    429: "Too many requests; try again later",
}


SUMMARY_MAX = 80
# A sentence ends at a full stop, then a space, then a capital or a backtick: "e.g. a" or
# "report.csv" inside a sentence does not end it.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


def summary_of(text: str) -> str:
    """A short phrase for the docs page's operation list: the text's first sentence
    without its full stop. One longer than SUMMARY_MAX keeps its longest leading clause
    that fits (cut before a bracket, "; " or ": " outside brackets), else is cut between
    words."""
    flat = " ".join(text.split())
    first = _SENTENCE_END.split(flat, maxsplit=1)[0].rstrip(".")
    if len(first) <= SUMMARY_MAX:
        return first
    heads = [first[:i].rstrip() for i in _clause_starts(first)]
    fitting = [head for head in heads if 0 < len(head) <= SUMMARY_MAX]
    if fitting:
        return max(fitting, key=len)
    return first[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _clause_starts(sentence: str) -> list[int]:
    starts, depth = [], 0
    for i, char in enumerate(sentence):
        if char == "(" and depth == 0:
            starts.append(i)
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char in ";:" and sentence[i + 1 : i + 2] == " ":
            starts.append(i)
    return starts


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Dongguan skills-talent registry and subsidies",
        version="1.0.0",
        description="Staff sign in with POST /api/v1/auth/login and send the token as "
        "`Authorization: Bearer st_…`; organisations send their API key the same way or as "
        "`X-API-Key`. Errors share one shape: status_code, detail, errors[{field, reason}], "
        "request_id.",
        path="/schema",
        components=Components(security_schemes=SECURITY_SCHEMES),
        use_handler_docstrings=True,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS}/swagger-ui-bundle.js",
                css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
            )
        ],
    )


def docs_assets() -> Router:
    """Swagger UI's scripts, styles and icons, from the installed swagger-ui-py package."""
    return create_static_files_router(
        path=ASSETS, directories=[SWAGGER_DIST], opt={PUBLIC_OPT: True}, include_in_schema=False
    )


def document_operations(app: Litestar) -> None:
    """Declares each operation's security and error answers by rule. Runs before the
    document is first built (Litestar builds it on the first request for it)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.include_in_schema is False:
                continue
            _document(handler, route.path)


def _document(handler: HTTPRouteHandler, path: str) -> None:
    _summarise(handler)
    public = any((layer.opt or {}).get(PUBLIC_OPT) for layer in handler.ownership_layers)
    methods = set(handler.http_methods)
    statuses: set[int] = set()
    if set(handler.parsed_fn_signature.parameters) - NOT_INPUT or "{" in path:
        statuses.add(400)
    if not public:
        handler.security = SIGNED_IN
        statuses.add(401)
        if handler.resolve_guards():
            statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if methods & WRITES:
        statuses.add(413)
        if not public:
            statuses.add(409)
    if any((m, path) in CONFLICTING_READS for m in methods):
        statuses.add(409)
    if handler.resolve_request_max_body_size() is None:  # file uploads
        statuses |= {413, 415}
    rate_limited = any(
        getattr(m, "middleware", None) is RateLimitMiddleware for m in handler.resolve_middleware()
    )
    if rate_limited or any((m, path) in THROTTLED for m in methods):
        statuses.add(429)
    declared = dict(handler.responses or {})
    for status in sorted(statuses):
        declared.setdefault(
            status,
            ResponseSpec(
                data_container=ErrorOut, description=_REASONS[status], generate_examples=False
            ),
        )
    handler.responses = declared


def _summarise(handler: HTTPRouteHandler) -> None:
    """Without this the summary is the handler's name run together ("ListKeys"); the
    description stays the whole docstring (use_handler_docstrings)."""
    if handler.summary:
        return
    text = handler.description or cleandoc(handler.fn.__doc__ or "")
    if text:
        handler.summary = summary_of(text)
