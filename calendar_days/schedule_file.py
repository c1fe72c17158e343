"""Reading a year's schedule from a file (pure; run in kernel.sandbox's limited child):
CSV (UTF-8 or GB18030) or XLSX, a header row naming the columns date, kind and name
(日期, 类型, 名称 accepted too), one row per date. Row numbers are the file's own as a
spreadsheet shows them (the header is row 1). The file is held to the upload limits
(kernel.file_limits): past one it is refused on field `file`."""

from __future__ import annotations

import io
import os
import re
import tempfile
from datetime import date
from pathlib import Path

from calendar_days.schedule import MAX_ENTRIES, Entry
from calendar_days.working_days import HOLIDAY, WORKING_DAY
from kernel.errors import FieldError, InvalidInput
from kernel.file_limits import FileLimits, LineScanner, check_xlsx, csv_records
from kernel.xlsx_rows import SheetError, rows

XLSX_MAGIC = b"PK\x03\x04"
HEADERS = {
    "date": ("date", "日期"),
    "kind": ("kind", "type", "类型", "类别"),
    "name": ("name", "holiday", "名称", "节日"),
}
KIND_WORDS = {
    "holiday": HOLIDAY,
    "放假": HOLIDAY,
    "休": HOLIDAY,
    "假日": HOLIDAY,
    "working_day": WORKING_DAY,
    "上班": WORKING_DAY,
    "调休上班": WORKING_DAY,
    "班": WORKING_DAY,
}
# 2027-01-01, 2027/1/1, or a sheet's date cell (read as 2027-01-01 or 2027-01-01T00:00:00).
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?")


def read(data: bytes, limits: FileLimits) -> tuple[list[tuple[int, Entry]], list[FieldError]]:
    """The entries with their row numbers, and every problem found reading them."""
    limits = limits.holding_rows(MAX_ENTRIES)
    if data.startswith(XLSX_MAGIC):
        return _from_cells(_xlsx_rows(data, limits))
    LineScanner(limits.max_line_bytes).feed(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise InvalidInput.single(
                "file", "the file is neither UTF-8 nor GB18030 text"
            ) from None
    if "\x00" in text:
        raise InvalidInput.single("file", "the file contains NUL characters: not a CSV text file")
    records = csv_records(io.StringIO(text, newline=""), limits, strict=True)
    return _from_cells(list(enumerate(records, start=1)))


def _xlsx_rows(data: bytes, limits: FileLimits) -> list[tuple[int, list[str]]]:
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        check_xlsx(Path(name), limits)
        return list(
            rows(
                name,
                max_columns=limits.max_columns,
                max_rows=limits.max_rows,
                max_xml_bytes=limits.max_xlsx_unpacked_bytes,
                max_field_bytes=limits.max_field_bytes,
            )
        )
    except SheetError as exc:
        raise InvalidInput.single("file", f"the workbook could not be read: {exc}") from None
    finally:
        os.unlink(name)


def _from_cells(
    numbered: list[tuple[int, list[str]]],
) -> tuple[list[tuple[int, Entry]], list[FieldError]]:
    numbered = [(n, cells) for n, cells in numbered if any(c.strip() for c in cells)]
    if not numbered:
        return [], [FieldError("file", "the file is empty; expected columns date, kind, name")]
    header_row, header = numbered[0]
    names = [cell.strip().lower() for cell in header]
    positions = {}
    for key, aliases in HEADERS.items():
        found = [i for i, name in enumerate(names) if name in aliases]
        if found:
            positions[key] = found[0]
    missing = [key for key in HEADERS if key not in positions]
    if missing:
        return [], [
            FieldError(
                f"row {header_row}",
                f"the header misses column(s) {', '.join(missing)}; expected date, kind, name "
                "(日期, 类型, 名称)",
            )
        ]
    entries: list[tuple[int, Entry]] = []
    errors: list[FieldError] = []
    for row_no, cells in numbered[1:]:

        def cell(key: str, cells: list[str] = cells) -> str:
            i = positions[key]
            return cells[i].strip() if i < len(cells) else ""

        day = parse_date(cell("date"))
        if day is None:
            errors.append(
                FieldError(
                    f"row {row_no}, column date", f"{cell('date')!r} is not a date YYYY-MM-DD"
                )
            )
        kind_text = cell("kind")
        kind = KIND_WORDS.get(kind_text.lower(), kind_text)
        entries.append((row_no, Entry(day, kind, cell("name"))))
    if not entries and not errors:
        errors.append(FieldError("file", "the file has a header but no rows"))
    return entries, errors


def parse_date(text: str) -> date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:  # 2027-02-30
        return None
