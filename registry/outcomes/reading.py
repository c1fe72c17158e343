"""Reading a stored outcome report into chunks of string columns.

Every cell is read as text (a spreadsheet row number is kept beside it) and checked
later by `rows`: nothing is dropped or coerced on the way in. CSV goes through
pyarrow's streaming reader (a million rows in well under a second); XLSX through a
streaming XML read of its first sheet (kernel.xlsx_rows), row by row within the upload
limits, so a workbook never becomes a grid in memory whatever cells it declares.
Both run in a child process limited in memory and CPU time (kernel.sandbox); each
chunk comes back as an Arrow IPC stream with its shape problems.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as paipc

from kernel import sandbox
from kernel import xlsx_rows as sheet_rows
from kernel.file_limits import FileLimits
from registry.outcomes.columns import COLUMNS, KEYS, Column, map_headers

CHUNK_ROWS = 100_000
FIRST_DATA_ROW = 2  # row numbers as a spreadsheet shows them: the header is row 1
# C0 controls (NUL, tab and line breaks included: every column is a one-line value),
# DEL and C1 controls, once a cell's surrounding whitespace is stripped. SQLite would
# store a NUL and PostgreSQL refuse it: the row is refused on both, before either sees it.
CONTROL_CHARACTERS = r"[\x{00}-\x{1f}\x{7f}-\x{9f}]"
sandbox.preload(__name__)


@dataclass
class ShapeProblem:
    """A row rejected as it is read: a CSV line whose number of fields does not match
    the header (COLUMN_COUNT), or a cell holding a control character (CONTROL_CHARACTER;
    `column` names it). Such a row is not in the chunk's frame."""

    row: int
    detail: str
    column: str = "*"
    code: str = "COLUMN_COUNT"


@dataclass
class Chunk:
    frame: pd.DataFrame  # columns: "row" and every key in KEYS (absent optional ones blank)
    shape_problems: list[ShapeProblem]


def xlsx_rows(path: Path, limits: FileLimits | None = None) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows with a value: (row number, cells as text); a cell past the
    column limit, a row past the row limit, XML past the unpacked limit or text past
    the field limit is a ValueError (kernel.xlsx_rows.SheetError) naming the limit."""
    limits = limits or FileLimits.from_env()
    return sheet_rows.rows(
        str(path),
        max_columns=limits.max_columns,
        max_rows=limits.max_rows,
        max_xml_bytes=limits.max_xlsx_unpacked_bytes,
        max_field_bytes=limits.max_field_bytes,
    )


def read_header(
    path: Path, file_format: str, encoding: str | None, limits: FileLimits | None = None
) -> list[str]:
    if file_format == "csv":
        with open(path, encoding=_python_encoding(encoding), newline="") as handle:
            try:
                return next(csv.reader(handle), [])
            except csv.Error as exc:  # a field past the csv module's limit
                raise ValueError(f"the header is not a readable CSV line: {exc}") from None
    for _, values in xlsx_rows(path, limits):
        return values
    return []


def read_chunks(
    path: Path,
    file_format: str,
    encoding: str | None,
    columns: tuple[Column, ...] = COLUMNS,
    limits: FileLimits | None = None,
) -> Iterator[Chunk]:
    """`columns`: the file's columns (default: an outcome report's). Read in a limited
    child process: one that dies is a ValueError (kernel.sandbox.UnreadableFile)."""
    return sandbox.stream(
        _read_here,
        path,
        file_format,
        encoding,
        columns,
        limits or FileLimits.from_env(),  # the child's environment is the forkserver's
        encode=_encode_chunk,
        decode=_decode_chunk,
    )


def _encode_chunk(chunk: Chunk) -> tuple[bytes, pa.Buffer]:
    table = pa.Table.from_pandas(chunk.frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with paipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return pickle.dumps(chunk.shape_problems, protocol=pickle.HIGHEST_PROTOCOL), sink.getvalue()


def _decode_chunk(parts: list[bytes]) -> Chunk:
    problems, frame = parts
    return Chunk(paipc.open_stream(frame).read_all().to_pandas(), pickle.loads(problems))


def _read_here(
    path: Path,
    file_format: str,
    encoding: str | None,
    columns: tuple[Column, ...],
    limits: FileLimits,
) -> Iterator[Chunk]:
    positions = map_headers(read_header(path, file_format, encoding, limits), columns)
    keys = KEYS if columns is COLUMNS else tuple(c.key for c in columns)
    if file_format == "csv":
        yield from _csv_chunks(path, encoding, positions, keys)
    else:
        yield from _xlsx_chunks(path, positions, keys, limits)


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
            problems,
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
    columns: dict[str, pa.Array],
    n: int,
    first_row: int,
    keys: tuple[str, ...],
    problems: list[ShapeProblem],
) -> pd.DataFrame:
    data: dict[str, object] = {"row": pd.RangeIndex(first_row, first_row + n).to_numpy()}
    for key in keys:
        if key in columns:
            data[key] = pd.Series(columns[key].to_pandas(), dtype="str").str.strip()
        else:
            data[key] = pd.Series([""] * n, dtype="str")
    return _without_control_rows(pd.DataFrame(data), columns, problems)


def _without_control_rows(
    frame: pd.DataFrame, columns: dict[str, pa.Array], problems: list[ShapeProblem]
) -> pd.DataFrame:
    """The frame without rows holding a control character; each such cell is a problem."""
    rejected = np.zeros(len(frame), dtype=bool)
    for key, values in columns.items():
        found = pc.match_substring_regex(pc.utf8_trim_whitespace(values), CONTROL_CHARACTERS)
        if not pc.any(found).as_py():
            continue
        mask = found.to_numpy(zero_copy_only=False).astype(bool)
        problems.extend(
            ShapeProblem(int(row), "a control character", key, "CONTROL_CHARACTER")
            for row in frame["row"].to_numpy()[mask]
        )
        rejected |= mask
    if not rejected.any():
        return frame
    return frame[~rejected].reset_index(drop=True)


def _empty_frame(keys: tuple[str, ...] = KEYS) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": pd.Series([], dtype="int64"), **{k: pd.Series([], dtype="str") for k in keys}}
    )


def _xlsx_chunks(
    path: Path,
    positions: dict[int, str],
    keys: tuple[str, ...] = KEYS,
    limits: FileLimits | None = None,
) -> Iterator[Chunk]:
    rows = xlsx_rows(path, limits)
    next(rows, None)  # the header
    wanted = sorted(positions.items())
    buffer: dict[str, list[str]] = {key: [] for _, key in wanted}
    numbers: list[int] = []
    for row_number, values in rows:
        if not any(values):
            continue  # blank rows in a workbook are layout, not data
        for position, key in wanted:
            buffer[key].append(values[position] if position < len(values) else "")
        numbers.append(row_number)
        if len(numbers) >= CHUNK_ROWS:
            problems: list[ShapeProblem] = []
            yield Chunk(_xlsx_frame(buffer, numbers, keys, problems), problems)
            buffer = {key: [] for _, key in wanted}
            numbers = []
    if numbers:
        problems = []
        yield Chunk(_xlsx_frame(buffer, numbers, keys, problems), problems)


def _xlsx_frame(
    buffer: dict[str, list[str]],
    numbers: list[int],
    keys: tuple[str, ...],
    problems: list[ShapeProblem],
) -> pd.DataFrame:
    n = len(numbers)
    data: dict[str, object] = {"row": pd.array(numbers, dtype="int64")}
    for key in keys:
        values = buffer.get(key)
        data[key] = pd.Series(values if values is not None else [""] * n, dtype="str").str.strip()
    columns = {key: pa.array(values, type=pa.string()) for key, values in buffer.items()}
    return _without_control_rows(pd.DataFrame(data), columns, problems)
