"""Path parameters shared by every route (kept in kernel.web_params)."""

from kernel.web_params import MAX_ID, RecordId

__all__ = ["MAX_ID", "RecordId"]
