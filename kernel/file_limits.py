"""What an uploaded spreadsheet or CSV file declares and what it would cost to read,
checked before it is parsed: past a limit it is refused on field `file` with the limit
named, so a 2 KB workbook cannot ask for a terabyte grid, nor a ZIP for gigabytes.

XLSX: the ZIP's declared sizes (each member and the total, and the compression ratio of
each member; zipfile never inflates a member past its declared size, so the central
directory cannot lie its way past these) and the first sheet's `<dimension>`. CSV: the
longest line (scanned while the upload is spooled), then the header's columns, each
record's fields and field length, and for a claim file or month file the number of
records (`csv_records`; a sheet's rows are counted as it is read).
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kernel.errors import InvalidInput, TooLarge
from kernel.xlsx_rows import DAMAGED, Budget, SheetError, column_index, damaged, first_sheet_name

MAX_MEMBERS = 10_000
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s[^>]*?ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"'
)
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData[\s>/]")


@dataclass(frozen=True)
class FileLimits:
    max_columns: int = 200
    max_rows: int = 1_048_576
    max_field_bytes: int = 64 << 10
    max_line_bytes: int = 1 << 20
    max_xlsx_unpacked_bytes: int = 1 << 30
    max_compression_ratio: int = 100
    # Rows after the header, for files whose every row becomes a claim and is held in
    # a worker's memory as a whole (claim files, internship month files); None: none.
    max_data_rows: int | None = None

    def holding_rows(self, count: int) -> FileLimits:
        """These limits for a file of at most `count` rows after its header (a sheet's
        row numbers then end at `count` + 1)."""
        return replace(self, max_data_rows=count, max_rows=min(self.max_rows, count + 1))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> FileLimits:
        env = dict(os.environ if env is None else env)
        return cls(
            max_columns=_positive("UPLOAD_MAX_COLUMNS", env.get("UPLOAD_MAX_COLUMNS", "200")),
            max_rows=_positive("UPLOAD_MAX_ROWS", env.get("UPLOAD_MAX_ROWS", "1048576")),
            max_field_bytes=_positive(
                "UPLOAD_MAX_FIELD_BYTES", env.get("UPLOAD_MAX_FIELD_BYTES", "65536")
            ),
            max_line_bytes=_positive(
                "UPLOAD_MAX_LINE_BYTES", env.get("UPLOAD_MAX_LINE_BYTES", "1048576")
            ),
            max_xlsx_unpacked_bytes=_positive(
                "UPLOAD_MAX_XLSX_UNPACKED_BYTES",
                env.get("UPLOAD_MAX_XLSX_UNPACKED_BYTES", str(1 << 30)),
            ),
            max_compression_ratio=_positive(
                "UPLOAD_MAX_COMPRESSION_RATIO", env.get("UPLOAD_MAX_COMPRESSION_RATIO", "100")
            ),
        )


def claim_file_limits(env: dict[str, str] | None = None) -> FileLimits:
    """The upload limits for a claim file or an internship month file: at most
    CLAIM_FILE_MAX_ROWS rows after the header (about 1 KB of a worker's memory each)."""
    env = dict(os.environ if env is None else env)
    rows = _positive("CLAIM_FILE_MAX_ROWS", env.get("CLAIM_FILE_MAX_ROWS", "100000"))
    return FileLimits.from_env(env).holding_rows(rows)


def _positive(name: str, text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(f"{name} must be 1 or more, not {text!r}")
    return number


def refuse(reason: str) -> InvalidInput:
    return InvalidInput.single("file", reason)


class LineScanner:
    """The longest line of a byte stream, fed chunk by chunk, in time linear in its
    bytes: from the start of a line, the last newline within the limit starts the next
    window (no newline there: a line too long). `rfind` searches a window from its end
    and stops at that newline; past it to the window's end there is no newline, so the
    next window's search stops before reaching it: each byte is searched about once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.current = 0  # bytes of the line not yet ended

    def feed(self, chunk: bytes) -> None:
        position, current, size = 0, self.current, len(chunk)
        while True:
            # The current line must end at or before index `position + limit - current`.
            end = position + self.limit - current + 1
            if end > size:
                newline = chunk.rfind(b"\n", position)
                self.current = current + size - position if newline < 0 else size - newline - 1
                return
            newline = chunk.rfind(b"\n", position, end)
            if newline < 0:
                self._check(self.limit + 1)
            position, current = newline + 1, 0

    def _check(self, length: int) -> None:
        if length > self.limit:
            raise TooLarge(
                f"a line of the file is longer than {self.limit} bytes; at most "
                f"{self.limit} bytes a line are read 文件中有一行过长",
                field="file",
            )


def check_xlsx(path: Path, limits: FileLimits) -> None:
    """The ZIP's declared sizes and ratio, and the first sheet's declared dimension."""
    try:
        archive = zipfile.ZipFile(path)
    except DAMAGED as exc:
        raise refuse(damaged(exc)) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise refuse(f"the ZIP holds {len(members)} parts; an XLSX has far fewer")
        total = 0
        for member in members:
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > (1 << 20) and ratio > limits.max_compression_ratio:
                raise TooLarge(
                    f"the part {member.filename[:80]!r} unpacks {ratio:.0f} times its packed "
                    f"size; at most {limits.max_compression_ratio} times is read "
                    "表格压缩比过高",
                    field="file",
                )
        if total > limits.max_xlsx_unpacked_bytes:
            raise TooLarge(
                f"the workbook unpacks to {total} bytes; at most "
                f"{limits.max_xlsx_unpacked_bytes} bytes are read 表格解压后过大",
                field="file",
            )
        try:
            sheet = first_sheet_name(archive, Budget(16 << 20))
            _check_dimension(archive, sheet, limits)
        except SheetError as exc:
            raise refuse(str(exc)) from None
        except DAMAGED as exc:
            raise refuse(damaged(exc)) from None


def _check_dimension(archive: zipfile.ZipFile, sheet: str, limits: FileLimits) -> None:
    """`<dimension ref="A1:XFD1048576"/>` comes before `<sheetData>`: the first 64 KiB
    hold it, or the sheet declares none."""
    with archive.open(sheet) as member:
        head = member.read(64 << 10)
    data_at = _SHEET_DATA.search(head)
    match = _DIMENSION.search(head, 0, data_at.start() if data_at else len(head))
    if match is None:
        return
    first_col, first_row, last_col, last_row = ((g.decode() if g else None) for g in match.groups())
    last_col, last_row = last_col or first_col, last_row or first_row
    if last_col:
        columns = column_index(last_col) - column_index(first_col or "A") + 1
        if columns > limits.max_columns:
            raise refuse(
                f"the sheet declares {columns} columns (to column {last_col}); at most "
                f"{limits.max_columns} are read 表格最多读取 {limits.max_columns} 列"
            )
    if last_row and int(last_row) > limits.max_rows:
        raise refuse(
            f"the sheet declares rows up to {last_row}; at most {limits.max_rows} rows "
            f"are read 表格最多读取 {limits.max_rows} 行"
        )


def csv_records(
    handle: Iterator[str], limits: FileLimits, *, strict: bool = False
) -> Iterator[list[str]]:
    """A CSV's records, each checked against the column and field limits: a field
    longer than the csv module's own limit is the same clear refusal, never csv.Error.
    `strict`: a malformed quote is a refusal too (the csv module's strict mode)."""
    reader = csv.reader(handle, strict=strict)
    most = None if limits.max_data_rows is None else limits.max_data_rows + 1
    count = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise TooLarge(
                    f"line {reader.line_num} has a field longer than {csv.field_size_limit()} "
                    f"characters; at most {limits.max_field_bytes} bytes a field are read "
                    "字段过长",
                    field="file",
                ) from None
            raise refuse(f"line {reader.line_num}: not a readable CSV record ({exc})") from None
        count += 1
        if most is not None and count > most:
            raise refuse(
                f"the file has more than {most - 1} rows after its header; at most "
                f"{most - 1} rows are read 文件最多读取 {most - 1} 行"
            )
        if len(record) > limits.max_columns:
            raise refuse(
                f"line {reader.line_num} has {len(record)} fields; at most "
                f"{limits.max_columns} columns are read 文件最多读取 {limits.max_columns} 列"
            )
        longest = max(map(len, record), default=0)
        if longest * 4 > limits.max_field_bytes:  # a character is at most 4 bytes
            size = max(len(f.encode()) for f in record)
            if size > limits.max_field_bytes:
                raise TooLarge(
                    f"line {reader.line_num} has a field of {size} bytes; at most "
                    f"{limits.max_field_bytes} bytes a field are read 字段过长",
                    field="file",
                )
        yield record
