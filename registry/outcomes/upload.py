"""Receiving a report file: streamed to disk with its hash, then checked as a whole
file (format, size, encoding, header, at least one row) before any job exists, the
whole-file reads in a child process limited in memory and CPU time (kernel.sandbox).
Every problem here is one clear error; nothing is stored for a refused file."""

from __future__ import annotations

import codecs
import hashlib
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from kernel import sandbox
from kernel.errors import InvalidInput, TooLarge, UnsupportedFormat
from kernel.file_limits import FileLimits, LineScanner, check_xlsx, csv_records
from kernel.xlsx_rows import FieldTooLarge
from registry.outcomes.columns import COLUMNS, Column, map_headers
from registry.outcomes.reading import read_header, xlsx_rows

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls and other old Office files
CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    filename: str
    file_format: str  # csv / xlsx
    encoding: str | None  # csv only: utf-8 or gb18030
    size_bytes: int
    sha256: str


async def receive(
    chunks: AsyncIterator[bytes],
    filename: str,
    data_dir: Path,
    max_bytes: int,
    *,
    folder_name: str = "outcomes",
    columns: tuple[Column, ...] = COLUMNS,
    limits: FileLimits | None = None,
) -> ReceivedFile:
    """`folder_name` (under DATA_DIR/uploads) and `columns` (the header it must have):
    an outcome report's by default; other bulk files (internship months) pass theirs.
    `limits`: what a file may declare and cost (default: from the environment)."""
    limits = limits or FileLimits.from_env()
    folder = data_dir / "uploads" / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".incoming-{uuid.uuid4().hex}"
    try:
        size, digest, utf8_ok, head = await _spool(chunks, partial, max_bytes, limits)
        if size == 0:
            raise InvalidInput.single("file", "the file is empty 文件为空")
        file_format = _format_of(head, filename)
        # Whole-file reads (decoding, the header, the rows) off the event loop, in a
        # child process limited in memory and CPU time, as one of a bounded few.
        encoding = await sandbox.run_async(
            _check_file, partial, file_format, utf8_ok, columns, limits
        )
        final = folder / f"{digest}.{file_format}"
        os.replace(partial, final)  # content-addressed: the same file is stored once
        return ReceivedFile(final, filename, file_format, encoding, size, digest)
    except sandbox.UnreadableFile as exc:
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _check_file(
    path: Path,
    file_format: str,
    utf8_ok: bool,
    columns: tuple[Column, ...] = COLUMNS,
    limits: FileLimits | None = None,
) -> str | None:
    """What the file declares and costs first (limits), then its content."""
    limits = limits or FileLimits()
    encoding = None
    if file_format == "csv":
        encoding = "utf-8" if utf8_ok else _gbk_or_fail(path)
        _check_csv_records(path, encoding, limits)
    else:
        check_xlsx(path, limits)
    _check_content(path, file_format, encoding, columns, limits)
    return encoding


def _check_csv_records(path: Path, encoding: str | None, limits: FileLimits) -> None:
    with open(path, encoding=_text_encoding(encoding), newline="") as handle:
        deque(csv_records(handle, limits), maxlen=0)  # reading every record checks it


def _text_encoding(encoding: str | None) -> str:
    return "utf-8-sig" if encoding in (None, "utf-8") else encoding


async def _spool(
    chunks: AsyncIterator[bytes], path: Path, max_bytes: int, limits: FileLimits
) -> tuple[int, str, bool, bytes]:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    size = 0
    head = b""
    lines = LineScanner(limits.max_line_bytes)
    text: bool | None = None  # known from the first bytes: a ZIP's bytes have no lines
    # Blocking writes of one network chunk each: shorter than a thread hop.
    with open(path, "wb") as out:  # noqa: ASYNC230
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"the file is larger than {max_bytes} bytes 文件过大", field="file")
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            if text is None and len(head) >= len(XLSX_MAGIC):
                text = not head.startswith(XLSX_MAGIC)
                if text:
                    lines.feed(head[: size - len(chunk)])  # earlier chunks, all in `head`
            if text:
                lines.feed(chunk)
            digest.update(chunk)
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            out.write(chunk)
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return size, digest.hexdigest(), utf8_ok, head


def _format_of(head: bytes, filename: str) -> str:
    name = filename.lower()
    if head.startswith(XLSX_MAGIC):
        if name.endswith((".csv", ".txt")):
            raise UnsupportedFormat("the file is a ZIP/XLSX but is named .csv", field="file")
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise UnsupportedFormat(
            "old Excel .xls files are not read: save as .xlsx or CSV 请另存为 xlsx 或 CSV",
            field="file",
        )
    if b"\x00" in head or head.startswith(b"%PDF"):
        raise UnsupportedFormat("not a CSV or XLSX file 仅支持 CSV 或 XLSX 文件", field="file")
    if name and not name.endswith((".csv", ".txt")) and "." in name:
        raise UnsupportedFormat(
            f"{filename!r} is not a CSV or XLSX file 仅支持 CSV 或 XLSX 文件", field="file"
        )
    return "csv"


def _gbk_or_fail(path: Path) -> str:
    """GBK is what Excel on Chinese Windows writes; GB 18030 is its superset."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidInput.single(
            "file", "the text is neither UTF-8 nor GBK/GB18030 文件编码须为 UTF-8 或 GBK"
        ) from None
    return "gb18030"


def _check_content(
    path: Path,
    file_format: str,
    encoding: str | None,
    columns: tuple[Column, ...],
    limits: FileLimits,
) -> None:
    try:
        headers = read_header(path, file_format, encoding, limits)
        if not any(str(h).strip() for h in headers):
            raise InvalidInput.single("file", "the first row must be the header 第一行须为表头")
        map_headers(headers, columns)
        has_row = _has_data_row(path, file_format, encoding, limits)
    except FieldTooLarge as exc:
        raise TooLarge(str(exc), field="file") from None
    except (ValueError, OSError) as exc:
        raise InvalidInput.single(
            "file", f"the {file_format.upper()} file cannot be read: {exc}"
        ) from None
    if not has_row:
        raise InvalidInput.single("file", "the file has a header but no rows 文件没有数据行")


def _has_data_row(path: Path, file_format: str, encoding: str | None, limits: FileLimits) -> bool:
    if file_format == "csv":
        with open(path, encoding=_text_encoding(encoding), newline="") as handle:
            records = csv_records(handle, limits)
            next(records, None)
            return any(any(cell.strip() for cell in row) for row in records)
    rows = xlsx_rows(path, limits)
    next(rows, None)
    return any(any(values) for _, values in rows)
