"""A damaged XLSX, whatever layer finds the damage (the ZIP's directory, a part's
header, its compressed stream, its CRC, its XML), is a clear refusal at the upload
check (kernel.file_limits.check_xlsx: 400 on `file`) and a SheetError in a read
(kernel.xlsx_rows.rows), never another exception (which would be a 500, or a job
retried as if the damage could heal)."""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

import pytest

from kernel.errors import InvalidInput
from kernel.file_limits import FileLimits, check_xlsx
from kernel.xlsx_rows import SheetError, rows
from tests.support import hostile_files as hostile

HEADERS = ["name", "number"]
ROWS = [[f"person {i:05d} {i * 7919 % 10007}", str(i * 31)] for i in range(20_000)]
SHEET = "xl/worksheets/sheet1.xml"


def good() -> bytes:
    return hostile.workbook(hostile.sheet_xml(hostile.table(HEADERS, ROWS[:3])))


def with_sheet(method: int) -> bytes:
    """The small workbook with its sheet written with the compression `method`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good())) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            kind = method if info.filename == SHEET else zipfile.ZIP_DEFLATED
            out.writestr(info.filename, source.read(info.filename), kind)
    return buffer.getvalue()


def flip(body: bytes, at: int, mask: int = 0xFF) -> bytes:
    damaged = bytearray(body)
    damaged[at] ^= mask
    return bytes(damaged)


def headers_of(body: bytes, name: str) -> tuple[int, int]:
    """Offsets of the member's local header and its central directory entry."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        local = archive.getinfo(name).header_offset
    central = body.index(b"PK\x01\x02")
    while body[central + 46 : central + 46 + len(name)] != name.encode():
        central = body.index(b"PK\x01\x02", central + 1)
    return local, central


def set_flags(body: bytes, name: str, flags: int) -> bytes:
    local, central = headers_of(body, name)
    damaged = bytearray(body)
    for at in (local + 6, central + 8):
        old = struct.unpack("<H", damaged[at : at + 2])[0]
        damaged[at : at + 2] = struct.pack("<H", old | flags)
    return bytes(damaged)


def set_method(body: bytes, name: str, method: int) -> bytes:
    local, central = headers_of(body, name)
    damaged = bytearray(body)
    for at in (local + 8, central + 10):
        damaged[at : at + 2] = struct.pack("<H", method)
    return bytes(damaged)


def stream_damaged(method: int) -> bytes:
    body = with_sheet(method)
    start, length = hostile.member_data(body, SHEET)
    damaged = bytearray(body)
    for i in range(start + length // 3, start + length // 3 + 16):
        damaged[i] ^= 0x5A
    return bytes(damaged)


def bad_crc() -> bytes:
    body = with_sheet(zipfile.ZIP_STORED)
    at = body.index(b"person 00001")
    return body[:at] + b"P" + body[at + 1 :]


def bad_utf8_name() -> bytes:
    """A part named in UTF-8 (flag bit 11) whose name is not UTF-8."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good())) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info.filename))
        out.writestr("xl/é.xml", "<x/>")
    return buffer.getvalue().replace("é".encode(), b"\xff\xfe")


# (what is damaged, the file, what zipfile or expat raises reading all of it)
DAMAGES: list[tuple[str, Callable[[], bytes], type[Exception]]] = [
    ("workbook.xml ends in a tag", lambda: hostile.broken_workbook_xml(HEADERS, ROWS[:3]),
     expat.ExpatError),
    ("the sheet's deflate stream", lambda: hostile.corrupt_deflate(good(), 0.0), zlib.error),
    ("a bzip2 stream", lambda: stream_damaged(zipfile.ZIP_BZIP2), OSError),
    ("an LZMA stream", lambda: stream_damaged(zipfile.ZIP_LZMA), lzma.LZMAError),
    ("a stored part's CRC", bad_crc, zipfile.BadZipFile),
    ("the file cut short", lambda: good()[: len(good()) // 2], zipfile.BadZipFile),
    ("a part marked encrypted", lambda: set_flags(good(), SHEET, 0x1), RuntimeError),
    ("an unknown compression method", lambda: set_method(good(), SHEET, 99), NotImplementedError),
    ("a part's name, not UTF-8", bad_utf8_name, UnicodeDecodeError),
    ("a part's local header", lambda: flip(good(), headers_of(good(), SHEET)[0]),
     zipfile.BadZipFile),
]  # fmt: skip


def read_everything(body: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            parser = expat.ParserCreate()
            parser.Parse(archive.read(name), True)


def read_rows(path: Path) -> list[tuple[int, list[str]]]:
    return list(
        rows(str(path), max_columns=200, max_rows=1 << 20, max_xml_bytes=1 << 30,
             max_field_bytes=1 << 16)
    )  # fmt: skip


@pytest.mark.parametrize(("damage", "build", "raised"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_workbook_is_refused_at_the_check_and_a_sheet_error_in_a_read(
    tmp_path, damage, build, raised
):
    body = build()
    with pytest.raises(raised):  # the damage is what it says
        read_everything(body)
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(body)
    with pytest.raises(SheetError, match=r"the XLSX file is damaged: .+ 表格文件已损坏"):
        read_rows(path)
    with pytest.raises(InvalidInput) as refused:
        check_xlsx(path, FileLimits())
    error = refused.value.errors[0]
    assert error.field == "file" and "the XLSX file is damaged: " in error.reason, error


def test_a_sheet_damaged_after_its_first_rows_reads_them_then_fails(tmp_path):
    path = tmp_path / "late.xlsx"
    path.write_bytes(hostile.sheet_damaged_after(HEADERS, ROWS))
    check_xlsx(path, FileLimits())  # the check reads the sheet's start only
    read = rows(
        str(path), max_columns=200, max_rows=1 << 20, max_xml_bytes=1 << 30,
        max_field_bytes=1 << 16,
    )  # fmt: skip
    assert next(read) == (1, HEADERS)
    assert next(read) == (2, ROWS[0])
    with pytest.raises(SheetError, match="the XLSX file is damaged: Error -3"):
        list(read)
