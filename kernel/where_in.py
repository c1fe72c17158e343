"""Rows whose column is one of many values, through Piccolo, a slice of values per
query: SQLite allows 32,766 parameters in one statement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from piccolo.columns import Column
from piccolo.table import Table

PER_QUERY = 5_000


async def select_where_in(
    table: type[Table], column: Column, values: Iterable[Any], *columns: Column
) -> list[dict[str, Any]]:
    """`columns` (and `column`) of the rows of `table` whose `column` is one of `values`
    (duplicates and None left out)."""
    wanted = sorted({v for v in values if v is not None})
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), PER_QUERY):
        rows += (
            await table.select(column, *columns)
            .where(column.is_in(wanted[start : start + PER_QUERY]))
            .run()
        )
    return rows
