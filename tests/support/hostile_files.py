"""Building hostile spreadsheets and CSV files (tests and bench/hostile_files.py): a
workbook written as raw XML parts, so its sheet may declare any dimension, place cells
anywhere, or expand enormously."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, 16383 -> XFD."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(
    rows: Iterable[tuple[int, list[tuple[int, str]]]], dimension: str | None = None
) -> Iterator[bytes]:
    """The sheet's XML in pieces: `rows` as (1-based row number, [(0-based column, text)])."""
    yield SHEET_OPEN.encode()
    if dimension is not None:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    for number, cells in rows:
        inner = "".join(_cell(f"{column_letters(c)}{number}", t) for c, t in cells)
        yield f'<row r="{number}">{inner}</row>'.encode()
    yield b"</sheetData></worksheet>"


def workbook(
    sheet: Iterable[bytes],
    level: int = 6,
    shared_strings: Iterable[bytes] = (),
    workbook_xml: str = WORKBOOK,
) -> bytes:
    """An XLSX holding `sheet` (pieces of its XML, streamed into the ZIP) and, when given,
    xl/sharedStrings.xml (pieces of it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook_xml)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            for piece in sheet:
                out.write(piece)
        pieces = iter(shared_strings)
        first = next(pieces, None)
        if first is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
                out.write(first)
                for piece in pieces:
                    out.write(piece)
    return buffer.getvalue()


def hoarding_strings(
    headers: list[str],
    row: list[str],
    strings: Callable[[int], str],
    count: int,
    copies: int = 1,
) -> bytes:
    """A workbook of the header, `copies` of the row, and a last row whose one cell
    names the last of `count` shared strings (`strings(i)` is the i-th): reading that
    cell holds them all. With enough copies (some 64 KiB of XML) a read of the first
    rows never reaches it."""
    rows = table(headers, [row] * copies)
    last = len(rows) + 1
    sheet = (
        SHEET_OPEN
        + "<sheetData>"
        + "".join(
            f'<row r="{n}">'
            + "".join(_cell(f"{column_letters(i)}{n}", t) for i, t in cells)
            + "</row>"
            for n, cells in rows
        )
        + f'<row r="{last}"><c r="A{last}" t="s"><v>{count - 1}</v></c></row>'
        + "</sheetData></worksheet>"
    )

    def pieces() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + MAIN_NS + b'">'
        for start in range(0, count, 10_000):
            yield "".join(
                f"<si><t>{strings(i)}</t></si>" for i in range(start, min(count, start + 10_000))
            ).encode()
        yield b"</sst>"

    return workbook([sheet.encode()], shared_strings=pieces())


def table(headers: list[str], rows: list[list[str]]) -> list[tuple[int, list[tuple[int, str]]]]:
    """A header row and data rows as `sheet_xml` rows."""
    return [(n, list(enumerate(values))) for n, values in enumerate([headers, *rows], start=1)]


def declared_corner(corner: str, headers: list[str], rows: list[list[str]]) -> bytes:
    """A small workbook whose sheet declares A1:`corner` and holds one cell there."""
    cells = table(headers, rows)
    letters = corner.rstrip("0123456789")
    number = int(corner[len(letters) :])
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    cells.append((number, [(column - 1, "x")]))
    return workbook(sheet_xml(cells, dimension=f"A1:{corner}"))


def _positional_row(values: list[str]) -> bytes:
    cells = "".join(f'<c t="inlineStr"><is><t>{t}</t></is></c>' for t in values)
    return f"<row>{cells}</row>".encode()


def expanding_sheet(headers: list[str], row: list[str], uncompressed_bytes: int) -> bytes:
    """A workbook whose sheet repeats `row` until its XML is about `uncompressed_bytes`: a
    ZIP bomb (alike rows without row numbers deflate about 1000 times)."""
    one = _positional_row(row)
    block = one * max(1, (1 << 20) // len(one))

    def pieces() -> Iterator[bytes]:
        yield SHEET_OPEN.encode() + b"<sheetData>" + _positional_row(headers)
        for _ in range(max(1, uncompressed_bytes // len(block))):
            yield block
        yield b"</sheetData></worksheet>"

    return workbook(pieces(), level=9)


def broken_workbook_xml(headers: list[str], rows: list[list[str]]) -> bytes:
    """A workbook whose xl/workbook.xml ends inside a tag (expat: unclosed token)."""
    return workbook(sheet_xml(table(headers, rows)), workbook_xml="<workbook><sheets><sheet")


def member_data(body: bytes, name: str) -> tuple[int, int]:
    """Where the compressed bytes of the ZIP member `name` are: (offset, length)."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        info = archive.getinfo(name)
    name_length, extra_length = struct.unpack(
        "<HH", body[info.header_offset + 26 : info.header_offset + 30]
    )
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def corrupt_deflate(body: bytes, at: float, name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """`body` with 40 bytes of the member's deflated data XORed, from `at` (a fraction of
    its compressed length) or the first place after it where the stream then fails to
    inflate (zlib.error: the damage is found as it is read, not at the CRC check)."""
    start, length = member_data(body, name)
    for offset in range(start + int(length * at), start + length - 40):
        damaged = bytearray(body)
        for i in range(offset, offset + 40):
            damaged[i] ^= 0x5A
        try:
            zlib.decompressobj(-15).decompress(bytes(damaged[start : start + length]))
        except zlib.error:
            return bytes(damaged)
    raise AssertionError("no 40 bytes of the member fail to inflate")


def sheet_damaged_after(headers: list[str], rows: list[list[str]]) -> bytes:
    """A workbook of `rows` (enough for some 1 MB of XML) whose sheet's deflate stream is
    damaged four-fifths of the way in: the first rows read, the rest do not."""
    body = workbook(sheet_xml(table(headers, rows)))
    return corrupt_deflate(body, 0.8)
