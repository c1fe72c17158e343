"""Request ids (accepted from X-Request-ID or made up) and one access-log line per
request. Pure ASGI, so it also covers 401s and 404s of unknown routes."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from typing import Any

from kernel.context import request_id_var

HEADER = b"x-request-id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("app.access")

# Unique across processes and restarts without a urandom call per request.
_PREFIX = f"{os.getpid():x}{secrets.token_hex(4)}"
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}-{next(_counter):x}"


class RequestContextMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        request_id = incoming if _ACCEPTABLE.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            request_id_var.reset(token)
