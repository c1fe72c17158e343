"""Path parameters shared by every route."""

from typing import Annotated

from litestar.params import PathParameter

MAX_ID = 2**31 - 1  # PostgreSQL integer keys; larger answers 400, not a driver error

RecordId = Annotated[int, PathParameter(gt=0, le=MAX_ID)]
