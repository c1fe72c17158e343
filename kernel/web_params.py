"""Bounded path and query parameters shared by every route. A value out of range, of the
wrong type, too long or holding a control character answers 400 naming the parameter,
before any handler or query runs.

Record ids stop at 2**31 - 1: PostgreSQL's `serial` keys are 32-bit `integer` columns, so a
larger id would reach the driver as an overflow, not a "no such record"."""

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

MAX_ID = 2**31 - 1
MAX_LIMIT = 200  # most items one page of a list holds
YEAR_MIN, YEAR_MAX = 2000, 2100  # policy years the registry records
MAX_QUERY_TEXT = 200  # filters, names and codes are far shorter
MAX_CURSOR = 64  # cursors this service returns are about 16 characters
MAX_FILENAME = 255  # what file systems allow
# No C0 control character or DEL: no filter, name or code holds one, and PostgreSQL
# cannot store NUL. `(?!\n)`: Python's `$` also matches before a final line feed.
PRINTABLE = r"^[^\x00-\x1f\x7f]*(?!\n)$"

RecordId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description=f"a record id, 1 to {MAX_ID}")]
QueryId = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_ID, description=f"a record id, 1 to {MAX_ID}")
]
QueryYear = Annotated[
    int | None,
    QueryParameter(ge=YEAR_MIN, le=YEAR_MAX, description=f"a year, {YEAR_MIN} to {YEAR_MAX}"),
]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT}")
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_CURSOR, pattern=PRINTABLE, description="next_cursor of the previous page"
    ),
]
QueryText = Annotated[str | None, QueryParameter(max_length=MAX_QUERY_TEXT, pattern=PRINTABLE)]
RequiredQueryText = Annotated[
    str, QueryParameter(min_length=1, max_length=MAX_QUERY_TEXT, pattern=PRINTABLE)
]
SchemeQuery = Annotated[str, QueryParameter(min_length=1, max_length=40, pattern=PRINTABLE)]
# Stored as sent but for NUL (kernel.filenames), so it is not held to PRINTABLE.
UploadName = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_FILENAME,
        description="the file's name, when the body is the file (e.g. report.csv)",
    ),
]
