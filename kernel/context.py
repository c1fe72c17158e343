"""Per-request (or per-job) context carried through contextvars."""

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
