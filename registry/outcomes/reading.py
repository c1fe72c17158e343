"""Reading a stored outcome report into chunks of string columns.

Every cell is read as text (a spreadsheet row number is kept beside it) and checked
later by `rows`: nothing is dropped or coerced on the way in. CSV goes through
pyarrow's streaming reader (a million rows in well under a second); XLSX through
calamine, row by row, so a large workbook never sits in memory as cell objects.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import python_calamine

from registry.outcomes.columns import COLUMNS, KEYS, Column, map_headers

CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # row numbers as a spreadsheet shows them: the header is row 1


@dataclass
class ShapeProblem:
    """A CSV line whose number of fields does not match the header."""

    row: int
    detail: str


@dataclass
class Chunk:
    frame: pd.DataFrame  # columns: "row" and every key in KEYS (absent optional ones blank)
    shape_problems: list[ShapeProblem]


def read_header(path: Path, file_format: str, encoding: str | None) -> list[str]:
    if file_format == "csv":
        with open(path, encoding=_python_encoding(encoding), newline="") as handle:
            first = next(csv.reader(handle), [])
        return first
    sheet = _first_sheet(path)
    for values in sheet.iter_rows():
        return [_cell_text(v) for v in values]
    return []


def read_chunks(
    path: Path, file_format: str, encoding: str | None, columns: tuple[Column, ...] = COLUMNS
) -> Iterator[Chunk]:
    """`columns`: the file's columns (default: an outcome report's)."""
    positions = map_headers(read_header(path, file_format, encoding), columns)
    keys = KEYS if columns is COLUMNS else tuple(c.key for c in columns)
    if file_format == "csv":
        yield from _csv_chunks(path, encoding, positions, keys)
    else:
        yield from _xlsx_chunks(path, positions, keys)


def _python_encoding(encoding: str | None) -> str:
    return "utf-8-sig" if encoding in (None, "utf-8") else encoding


def _csv_chunks(
    path: Path, encoding: str | None, positions: dict[int, str], keys: tuple[str, ...] = KEYS
) -> Iterator[Chunk]:
    header = read_header(path, "csv", encoding)
    names = [f"c{i}" for i in range(len(header))]
    problems: list[ShapeProblem] = []

    # pyarrow reports the line of a malformed row; before it, every row was one line
    # unless a quoted field spanned lines, which is rare in these reports.
    def on_invalid(row: pacsv.InvalidRow) -> str:
        number = row.number if row.number is not None else -1
        problems.append(
            ShapeProblem(
                number, f"expected {row.expected_columns} fields, got {row.actual_columns}"
            )
        )
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1,
            encoding="utf8" if encoding in (None, "utf-8") else encoding,
            block_size=8 << 20,
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_row = FIRST_DATA_ROW
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    for batch in reader:
        frame = _frame_from_columns(
            {key: batch.column(pos) for pos, key in positions.items()},
            batch.num_rows,
            next_row,
            keys,
        )
        next_row += batch.num_rows
        pending.append(frame)
        pending_rows += batch.num_rows
        if pending_rows >= CHUNK_ROWS:
            yield Chunk(pd.concat(pending, ignore_index=True), problems[:])
            problems.clear()
            pending, pending_rows = [], 0
    if pending or problems:
        frame = pd.concat(pending, ignore_index=True) if pending else _empty_frame(keys)
        yield Chunk(frame, problems[:])


def _frame_from_columns(
    columns: dict[str, object], n: int, first_row: int, keys: tuple[str, ...] = KEYS
) -> pd.DataFrame:
    data: dict[str, object] = {"row": pd.RangeIndex(first_row, first_row + n).to_numpy()}
    for key in keys:
        if key in columns:
            data[key] = pd.Series(columns[key].to_pandas(), dtype="str").str.strip()  # type: ignore[attr-defined]
        else:
            data[key] = pd.Series([""] * n, dtype="str")
    return pd.DataFrame(data)


def _empty_frame(keys: tuple[str, ...] = KEYS) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": pd.Series([], dtype="int64"), **{k: pd.Series([], dtype="str") for k in keys}}
    )


def _first_sheet(path: Path) -> python_calamine.CalamineSheet:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return workbook.get_sheet_by_index(0)


def _xlsx_chunks(
    path: Path, positions: dict[int, str], keys: tuple[str, ...] = KEYS
) -> Iterator[Chunk]:
    rows = _first_sheet(path).iter_rows()
    next(rows, None)  # the header
    wanted = sorted(positions.items())
    buffer: dict[str, list[str]] = {key: [] for _, key in wanted}
    numbers: list[int] = []
    row_number = FIRST_DATA_ROW - 1
    for values in rows:
        row_number += 1
        if not any(v not in ("", None) for v in values):
            continue  # blank rows in a workbook are layout, not data
        for position, key in wanted:
            buffer[key].append(_cell_text(values[position]) if position < len(values) else "")
        numbers.append(row_number)
        if len(numbers) >= CHUNK_ROWS:
            yield Chunk(_xlsx_frame(buffer, numbers, keys), [])
            buffer = {key: [] for _, key in wanted}
            numbers = []
    if numbers:
        yield Chunk(_xlsx_frame(buffer, numbers, keys), [])


def _xlsx_frame(
    buffer: dict[str, list[str]], numbers: list[int], keys: tuple[str, ...] = KEYS
) -> pd.DataFrame:
    n = len(numbers)
    data: dict[str, object] = {"row": pd.array(numbers, dtype="int64")}
    for key in keys:
        values = buffer.get(key)
        data[key] = pd.Series(values if values is not None else [""] * n, dtype="str").str.strip()
    return pd.DataFrame(data)


def _cell_text(value: object) -> str:
    """A cell as the text a person typed: whole numbers without ".0", dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
