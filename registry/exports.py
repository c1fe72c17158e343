"""CSV and XLSX files for people to open in Excel, written a batch at a time.

Reusable by any export: describe the columns once (`Column`, with Chinese and English
header names), then either stream CSV (`csv_stream`, `csv_download`) or write an XLSX
file (`write_xlsx`, constant memory) and send it (`file_download`). Rows are mappings
from column keys to values; batches are lists of rows, so a million-row export never
holds more than one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import xlsxwriter
from litestar.response import Response, Stream

from kernel.labels import YES_NO, label
from kernel.local_time import beijing, beijing_time

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel takes a UTF-8 CSV for its local code page (GBK here) unless it starts with a BOM.
BOM = "\ufeff"
# An XLSX sheet holds 1,048,576 rows, one of them the header.
XLSX_MAX_ROWS = 1_048_575
# Excel runs a cell starting with one of these as a formula ("CSV injection"): names and
# courses come from uploaded files, so such text is prefixed with a quote in CSV. XLSX
# cells are written as strings and never run.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_BYTES = 64 * 1024

Row = Mapping[str, Any]
Batch = Sequence[Row]


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "text"  # text, int, float, date, datetime (shown in Beijing time), bool
    width: int | None = None  # XLSX column width in characters; None: from the header
    # code -> Chinese (kernel.labels) for a column people read; a column of the same key
    # without labels keeps the code for machines.
    labels: Mapping[Any, str] | None = None

    @property
    def header(self) -> str:
        return f"{self.zh} / {self.en}"


def shown(column: Column, value: Any) -> Any:
    """The value as a reader sees it: a label for a code, 是/否 for a flag."""
    if value is None:
        return None
    if column.labels is not None:
        return label(column.labels, value)
    if isinstance(value, bool):
        return YES_NO[value]
    return value


def csv_cell(column: Column, value: Any) -> str:
    value = shown(column, value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return beijing_time(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if column.kind == "text" and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(columns: Sequence[Column], rows: Iterable[Row], *, header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow([c.header for c in columns])
    writer.writerows([csv_cell(c, row.get(c.key)) for c in columns] for row in rows)
    return out.getvalue()


async def csv_stream(
    columns: Sequence[Column], batches: AsyncIterable[Batch]
) -> AsyncIterator[bytes]:
    """BOM and header, then one chunk per batch."""
    yield (BOM + csv_text(columns, (), header=True)).encode()
    async for batch in batches:
        yield csv_text(columns, batch).encode()


def write_csv(path: Path, columns: Sequence[Column], rows: Iterable[Row]) -> None:
    """The same file, written to disk (for jobs: error reports and the like)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(csv_text(columns, (), header=True))
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                out.write(csv_text(columns, batch))
                batch = []
        out.write(csv_text(columns, batch))


@dataclass
class Sheet:
    """One worksheet: a name (at most 31 characters, none of []:*?/\\), its columns and
    its rows, as plain rows or as (async) batches of rows."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Row] | AsyncIterable[Batch]


class _XlsxSheet:
    def __init__(self, book: xlsxwriter.Workbook, sheet: Sheet, formats: dict[str, Any]) -> None:
        self.columns = list(sheet.columns)
        self.sheet = book.add_worksheet(sheet.name)
        self.formats = formats
        self.next_row = 1
        for i, column in enumerate(self.columns):
            width = column.width or max(10, min(40, len(column.header) + 4))
            self.sheet.set_column(i, i, width)
            self.sheet.write_string(0, i, column.header, formats["header"])
        self.sheet.freeze_panes(1, 0)

    def write(self, rows: Iterable[Row]) -> None:
        """Rows in order: constant-memory mode flushes each finished row to disk."""
        sheet, formats = self.sheet, self.formats
        for row in rows:
            if self.next_row > XLSX_MAX_ROWS:
                raise ValueError(f"an XLSX sheet holds at most {XLSX_MAX_ROWS} rows")
            r = self.next_row
            for i, column in enumerate(self.columns):
                value = shown(column, row.get(column.key))
                if value is None:
                    continue
                if isinstance(value, datetime):
                    moment = beijing(value).replace(microsecond=0)  # to the second, as CSV
                    sheet.write_datetime(r, i, moment, formats["datetime"])
                elif isinstance(value, date):
                    sheet.write_datetime(r, i, value, formats["date"])
                elif isinstance(value, int | float) and column.kind in ("int", "float"):
                    sheet.write_number(r, i, value)
                else:
                    # Strings stay strings: an 18-digit ID as a number would lose digits.
                    sheet.write_string(r, i, str(value))
            self.next_row += 1


def _open_book(path: Path) -> tuple[xlsxwriter.Workbook, dict[str, Any]]:
    # remove_timezone: Excel has no time zones; datetimes are written on Beijing's clock.
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True})
    formats = {
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
    }
    return book, formats


async def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    """Writes every sheet into one workbook at `path`. Batches are written off the event
    loop (xlsxwriter is pure Python and a 5,000-row batch takes tens of milliseconds)."""
    book, formats = _open_book(path)
    try:
        for sheet in sheets:
            target = _XlsxSheet(book, sheet, formats)
            if isinstance(sheet.rows, AsyncIterable):
                async for batch in sheet.rows:
                    await asyncio.to_thread(target.write, batch)
            else:
                await asyncio.to_thread(target.write, sheet.rows)
    finally:
        await asyncio.to_thread(book.close)


def write_xlsx_sync(path: Path, sheets: Sequence[Sheet]) -> None:
    """For jobs, which run outside an event loop; rows must be plain iterables."""
    book, formats = _open_book(path)
    try:
        for sheet in sheets:
            if isinstance(sheet.rows, AsyncIterable):
                raise TypeError("write_xlsx_sync needs plain rows, not async batches")
            _XlsxSheet(book, sheet, formats).write(sheet.rows)
    finally:
        book.close()


def temp_path(suffix: str, directory: Path | None = None) -> Path:
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=suffix, prefix="export-", dir=directory)
    os.close(handle)
    return Path(name)


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def bytes_download(content: bytes, filename: str, media_type: str) -> Response[bytes]:
    """A file already read (and checked) in memory, as an attachment."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename)},
    )


def csv_download(columns: Sequence[Column], batches: AsyncIterable[Batch], filename: str) -> Stream:
    return Stream(
        csv_stream(columns, batches),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(filename)},
    )


async def _read_then_delete(path: Path) -> AsyncIterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, _CHUNK_BYTES):
                yield chunk
    finally:
        # Synchronous on purpose: a finally clause of a closed generator cannot await.
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def file_download(path: Path, filename: str, media_type: str = XLSX_MEDIA_TYPE) -> Stream:
    """Streams a finished temporary file and deletes it afterwards (also when the
    client goes away half way)."""
    return Stream(
        _read_then_delete(path),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "Content-Length": str(path.stat().st_size),
        },
    )
