"""Reading the first sheet of an XLSX workbook row by row, as text, in bounded memory.

A sheet is a ZIP member of XML; this reads it with expat as a stream and yields each
row's cells as text the moment the row ends. Nothing is sized from what the file
declares (a sheet may declare A1:XFD1048576 or place one cell there), so no grid is ever
allocated: a cell past `max_columns` or a row past `max_rows` stops the read with an
error naming the limit, and so does XML past `max_xml_bytes` (counted as it is
inflated) and a cell's or shared string's text past `max_field_bytes` (counted as its
characters arrive, so it is refused before it is built). Shared strings are parsed
only as far as the cells read so far need. A damaged file (its ZIP, its compressed
data or its XML) is a SheetError saying so, whatever layer finds the damage.

Cells read as a person typed them: whole numbers without ".0", dates (numbers in a date
format) as ISO dates, booleans as true/false, formulas as their cached value.
"""

from __future__ import annotations

import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import IO
from xml.parsers import expat

READ_BYTES = 1 << 16
_REF = re.compile(r"([A-Z]{1,3})(\d{1,7})$")
# Built-in number formats that are dates or times (ECMA-376 18.8.30).
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # how Excel writes a character XML cannot hold
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


# What reading a damaged XLSX raises below this module: zipfile's own errors, a short
# file (EOFError), a bad CRC or header (BadZipFile), a compressed stream that does not
# inflate (zlib.error, lzma.LZMAError; bz2 raises OSError), an encrypted part or an
# unknown method (RuntimeError, NotImplementedError), a name, number or offset spelled
# wrong (ValueError, UnicodeDecodeError, OverflowError, struct.error), malformed XML.
DAMAGED: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    expat.ExpatError,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OverflowError,
    struct.error,
)


class SheetError(ValueError):
    """The workbook cannot be read within the limits (the message says why)."""


class FieldTooLarge(SheetError):
    """A cell's or a shared string's text is past the field limit (a size: 413)."""


def damaged(exc: BaseException) -> str:
    """What a DAMAGED error says, as a reason."""
    what = str(exc) or type(exc).__name__
    return f"the XLSX file is damaged: {what[:200]} 表格文件已损坏"


class _Text:
    """Character data of one value, held to `limit` UTF-8 bytes as it arrives."""

    __slots__ = ("chars", "limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.chars = 0
        self.size = -1  # exact bytes, counted once the characters could exceed the limit

    def add(self, text: str) -> bool:
        """False once the text is longer than the limit."""
        self.parts.append(text)
        self.chars += len(text)
        if self.chars * 4 <= self.limit:  # a character is at most 4 bytes
            return True
        if self.size < 0:
            self.size = sum(_utf8_size(part) for part in self.parts)
        else:
            self.size += _utf8_size(text)
        return self.size <= self.limit

    def value(self) -> str:
        return "".join(self.parts)


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _field_too_large(what: str, limit: int) -> FieldTooLarge:
    return FieldTooLarge(
        f"{what} is longer than {limit} bytes; at most {limit} bytes a field are read 字段过长"
    )


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26, XFD -> 16383."""
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number - 1


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _local(name: str) -> str:
    """The element name without its prefix (some writers spell `<x:c>`)."""
    return name.rpartition(":")[2] if ":" in name else name


class Budget:
    """Inflated bytes of XML read so far, against the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise SheetError(
                f"the workbook's XML is larger than {self.limit} bytes once unpacked; "
                f"at most {self.limit} bytes are read 表格解压后过大"
            )


def _parse_small(archive: zipfile.ZipFile, name: str, budget: Budget, **handlers: object) -> None:
    if name not in archive.NameToInfo:
        return
    parser = expat.ParserCreate()
    for key, handler in handlers.items():
        setattr(parser, key, handler)
    with archive.open(name) as member:
        while block := member.read(READ_BYTES):
            budget.take(len(block))
            parser.Parse(block, False)
    parser.Parse(b"", True)


def first_sheet_name(archive: zipfile.ZipFile, budget: Budget) -> str:
    """The ZIP member of the workbook's first sheet (by its order in workbook.xml)."""
    sheet_ids: list[str] = []
    targets: dict[str, str] = {}

    def workbook_start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "sheet":
            sheet_ids.append(
                next((v for k, v in attrs.items() if k.endswith(":id") or k == "id"), "")
            )

    def rels_start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    _parse_small(archive, "xl/workbook.xml", budget, StartElementHandler=workbook_start)
    _parse_small(archive, "xl/_rels/workbook.xml.rels", budget, StartElementHandler=rels_start)
    target = targets.get(sheet_ids[0], "") if sheet_ids else ""
    if target:
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        name = str(PurePosixPath(path))
        if name in archive.NameToInfo:
            return name
    fallback = "xl/worksheets/sheet1.xml"
    if fallback in archive.NameToInfo:
        return fallback
    raise SheetError("the workbook has no worksheet 工作簿中没有工作表")


def _is_date_format(code: str) -> bool:
    bare = _QUOTED.sub("", code).lower()
    return any(ch in bare for ch in "ymdhs") and "general" not in bare


def _date_styles(archive: zipfile.ZipFile, budget: Budget) -> frozenset[int]:
    """Indexes of the cell styles (cellXfs) that show a number as a date or time."""
    custom: dict[int, str] = {}
    styles: list[int] = []
    inside: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif local == "xf" and inside and inside[-1] == "cellXfs":
            styles.append(int(attrs.get("numFmtId", "0")))
        inside.append(local)

    def end(name: str) -> None:
        inside.pop()

    _parse_small(archive, "xl/styles.xml", budget, StartElementHandler=start, EndElementHandler=end)
    dates = {
        n for n, fmt in custom.items() if n not in _DATE_FORMAT_IDS and _is_date_format(fmt)
    } | _DATE_FORMAT_IDS
    return frozenset(i for i, fmt in enumerate(styles) if fmt in dates)


def _uses_1904(archive: zipfile.ZipFile, budget: Budget) -> bool:
    found: list[bool] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "workbookPr":
            found.append(attrs.get("date1904", "0").lower() in ("1", "true"))

    _parse_small(archive, "xl/workbook.xml", budget, StartElementHandler=start)
    return bool(found and found[0])


class _SharedStrings:
    """The workbook's shared strings, parsed lazily up to the highest index asked for."""

    def __init__(self, archive: zipfile.ZipFile, budget: Budget, max_field_bytes: int) -> None:
        self.items: list[str] = []
        self._budget = budget
        self._member: IO[bytes] | None = None
        if "xl/sharedStrings.xml" in archive.NameToInfo:
            self._member = archive.open("xl/sharedStrings.xml")
        self._parser = expat.ParserCreate()
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        self._max_field_bytes = max_field_bytes
        self._parts = _Text(max_field_bytes)
        self._in_t = False
        self._phonetic = 0

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "si":
            self._parts = _Text(self._max_field_bytes)
        elif local == "t":
            self._in_t = True
        elif local == "rPh":
            self._phonetic += 1

    def _end(self, name: str) -> None:
        local = _local(name)
        if local == "si":
            self.items.append(_unescape(self._parts.value()))
        elif local == "t":
            self._in_t = False
        elif local == "rPh":
            self._phonetic -= 1

    def _text(self, data: str) -> None:
        if self._in_t and not self._phonetic and not self._parts.add(data):
            raise _field_too_large(f"shared string {len(self.items)}", self._max_field_bytes)

    def get(self, index: int) -> str:
        while index >= len(self.items) and self._member is not None:
            block = self._member.read(READ_BYTES)
            if not block:
                self._parser.Parse(b"", True)
                self._member.close()
                self._member = None
                break
            self._budget.take(len(block))
            self._parser.Parse(block, False)
        if index >= len(self.items):
            raise SheetError(f"a cell names shared string {index}, which the workbook lacks")
        return self.items[index]

    def close(self) -> None:
        if self._member is not None:
            self._member.close()


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _number_text(raw: str, is_date: bool, epoch: datetime) -> str:
    try:
        value = float(raw)
    except ValueError:
        return raw.strip()
    if is_date and 0 <= value < 2958466:  # up to 9999-12-31
        moment = epoch + timedelta(days=value)
        moment = moment.replace(microsecond=0) if moment.microsecond < 500 else moment
        if moment.hour == moment.minute == moment.second == 0 and moment.microsecond == 0:
            return moment.date().isoformat()
        return moment.isoformat()
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _SheetReader:
    """expat handlers collecting one row at a time into `ready`."""

    def __init__(
        self,
        strings: _SharedStrings,
        date_styles: frozenset[int],
        epoch: datetime,
        max_columns: int,
        max_rows: int,
        max_field_bytes: int,
    ) -> None:
        self.strings = strings
        self.date_styles = date_styles
        self.epoch = epoch
        self.max_columns = max_columns
        self.max_rows = max_rows
        self.max_field_bytes = max_field_bytes
        self.ready: list[tuple[int, list[str]]] = []
        self.row_number = 0
        self.cells: dict[int, str] = {}
        self.column = -1
        self.kind = ""
        self.style = 0
        self.text = _Text(max_field_bytes)
        self.collecting = False
        self.in_cell = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2] if ":" in name else name
        if local == "c":
            ref = attrs.get("r")
            if ref:
                match = _REF.match(ref)
                if match is None:
                    raise SheetError(f"a cell has the reference {ref[:20]!r}, not a cell name")
                self.column = column_index(match.group(1))
            else:
                self.column += 1
            if self.column >= self.max_columns:
                raise SheetError(
                    f"the sheet has a cell in column {column_letters(self.column)} (column "
                    f"{self.column + 1}); at most {self.max_columns} columns are read "
                    f"表格最多读取 {self.max_columns} 列"
                )
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style and style.isdigit() else 0
            self.text = _Text(self.max_field_bytes)
            self.in_cell = True
        elif local == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number and number.isdigit() else self.row_number + 1
            if self.row_number > self.max_rows:
                raise SheetError(
                    f"the sheet has a row {self.row_number}; at most {self.max_rows} rows "
                    f"are read 表格最多读取 {self.max_rows} 行"
                )
            self.cells = {}
            self.column = -1
        elif self.in_cell and local in ("v", "t"):
            self.collecting = True

    def end(self, name: str) -> None:
        local = name.rpartition(":")[2] if ":" in name else name
        if local in ("v", "t"):
            self.collecting = False
        elif local == "c":
            self.in_cell = False
            raw = self.text.value()
            if raw:
                self.cells[self.column] = self._value(raw)
        elif local == "row" and self.cells:
            width = max(self.cells) + 1
            self.ready.append((self.row_number, [self.cells.get(i, "") for i in range(width)]))

    def data(self, text: str) -> None:
        if self.collecting and not self.text.add(text):
            cell = f"{column_letters(self.column)}{self.row_number}"
            raise _field_too_large(f"cell {cell}", self.max_field_bytes)

    def _value(self, raw: str) -> str:
        kind = self.kind
        if kind == "s":
            if not raw.strip().isdigit():
                raise SheetError(f"a shared-string cell holds {raw[:20]!r}, not an index")
            return self.strings.get(int(raw)).strip()
        if kind == "b":
            return "true" if raw.strip() == "1" else "false"
        if kind in ("inlineStr", "str"):
            return _unescape(raw).strip()
        if kind in ("e", "d"):
            return raw.strip()
        return _number_text(raw, self.style in self.date_styles, self.epoch)


def rows(
    path: str, *, max_columns: int, max_rows: int, max_xml_bytes: int, max_field_bytes: int
) -> Iterator[tuple[int, list[str]]]:
    """(row number as the sheet numbers it, the row's cells as text) for every row with
    a value; cells are listed from column A to the row's last value."""
    try:
        archive = zipfile.ZipFile(path)
    except DAMAGED as exc:
        raise SheetError(damaged(exc)) from None
    with archive:
        budget = Budget(max_xml_bytes)
        try:
            name = first_sheet_name(archive, budget)
            epoch = _EPOCH_1904 if _uses_1904(archive, budget) else _EPOCH_1900
            strings = _SharedStrings(archive, budget, max_field_bytes)
            try:
                reader = _SheetReader(
                    strings,
                    _date_styles(archive, budget),
                    epoch,
                    max_columns,
                    max_rows,
                    max_field_bytes,
                )
                parser = expat.ParserCreate()
                parser.buffer_text = True
                parser.StartElementHandler = reader.start
                parser.EndElementHandler = reader.end
                parser.CharacterDataHandler = reader.data
                with archive.open(name) as sheet:
                    while block := sheet.read(READ_BYTES):
                        budget.take(len(block))
                        try:
                            parser.Parse(block, False)
                        except SheetError:
                            yield from reader.ready  # the rows before the problem are fine
                            raise
                        if reader.ready:
                            yield from reader.ready
                            reader.ready = []
                    parser.Parse(b"", True)
                yield from reader.ready
            finally:
                strings.close()
        except SheetError:
            raise
        except DAMAGED as exc:
            raise SheetError(damaged(exc)) from None
