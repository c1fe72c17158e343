"""Logging: every line carries the request id, and resident ID numbers are masked."""

from __future__ import annotations

import logging

from kernel.context import request_id_var
from kernel.masking import mask_ids_in_text

FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        masked = mask_ids_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "dramatiq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access line (app.access) carries the request id; uvicorn's would not.
    logging.getLogger("uvicorn.access").disabled = True
    # WeasyPrint reports seven layout steps per document at INFO: noise in the worker's
    # log and time spent formatting it; its warnings (a missing font, a bad CSS rule) stay.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
