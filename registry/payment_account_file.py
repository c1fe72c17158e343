"""Reading a file of people's payment accounts (pure; run in the limited child process
of kernel.sandbox): CSV (UTF-8 or GB 18030) or XLSX, a header row naming the columns
(Chinese or English), one person a row. Row numbers are the file's own, the header
being row 1, so a clerk finds each problem; any bad row rejects the whole file."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import FieldError, InvalidInput
from kernel.file_limits import FileLimits, LineScanner, check_xlsx, csv_records, refuse
from kernel.xlsx_rows import SheetError, rows

MAX_ROWS = 10_000  # one import is one unit of work
MAX_ERRORS = 200
HEADERS = {
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码"),
    "bank_name": ("bank_name", "bank", "开户行", "开户银行"),
    "bank_code": ("bank_code", "联行号", "开户行联行号"),
    "bank_account": ("bank_account", "account", "收款账号", "账号", "社保卡金融账号"),
    "holder": ("holder", "户名", "收款户名", "账户名"),
    "kind": ("kind", "账户类型"),
}
REQUIRED = ("id_number", "bank_name", "bank_account", "holder")


@dataclass(frozen=True)
class AccountRow:
    row: int
    id_number: str
    bank_name: str
    bank_code: str | None
    bank_account: str
    holder: str
    kind: str | None  # None: the social security card's account


def read(data: bytes, limits: FileLimits) -> tuple[list[AccountRow], list[FieldError]]:
    """The rows, or the errors (field `row N, column X`, or `file`/`header`)."""
    limits = limits.holding_rows(MAX_ROWS)
    if data[:2] == b"PK":
        return _parse(_xlsx_records(data, limits))
    LineScanner(limits.max_line_bytes).feed(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise refuse("the file is neither UTF-8 nor GB18030 text nor XLSX") from None
    if "\x00" in text:
        raise refuse("the file contains NUL characters: not a CSV text file")
    try:
        records = csv_records(io.StringIO(text, newline=""), limits, strict=True)
        return _parse(enumerate(records, start=1))
    except csv.Error as exc:
        raise refuse(f"not a readable CSV file: {exc}") from None


def _xlsx_records(data: bytes, limits: FileLimits) -> list[tuple[int, list[str]]]:
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        check_xlsx(Path(name), limits)
        try:
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
            raise refuse(str(exc)) from None
    finally:
        os.unlink(name)


def _parse(records) -> tuple[list[AccountRow], list[FieldError]]:  # type: ignore[no-untyped-def]
    records = iter(records)
    first = next(records, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise InvalidInput.single("file", "the first row must be the header: " + _wanted())
    positions = _positions(first[1])
    found: list[AccountRow] = []
    errors: list[FieldError] = []
    first_seen: dict[str, int] = {}
    for row_no, cells in records:
        if not any(cell.strip() for cell in cells):
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            i = positions.get(key)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        row_errors = [_err(row_no, key, "is empty") for key in REQUIRED if not cell(key)]
        id_number = cell("id_number").upper()
        if id_number in first_seen:
            row_errors.append(
                _err(row_no, "id_number", f"appears again (first at row {first_seen[id_number]})")
            )
        first_seen.setdefault(id_number, row_no)
        errors.extend(row_errors)
        if not row_errors:
            found.append(
                AccountRow(
                    row_no, id_number, cell("bank_name"), cell("bank_code") or None,
                    cell("bank_account"), cell("holder"), cell("kind") or None,
                )
            )  # fmt: skip
        if len(errors) >= MAX_ERRORS:
            errors.append(FieldError("file", f"stopped after {MAX_ERRORS} errors"))
            break
    if not found and not errors:
        errors.append(FieldError("file", "the file has a header but no rows"))
    return found, errors


def _wanted() -> str:
    return ", ".join(f"{key} ({aliases[1]})" for key, aliases in HEADERS.items())


def _positions(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    positions = {}
    for key, aliases in HEADERS.items():
        at = [i for i, name in enumerate(names) if name in aliases]
        if at:
            positions[key] = at[0]
    missing = [key for key in REQUIRED if key not in positions]
    if missing:
        raise InvalidInput.single(
            "header", f"missing column(s) {', '.join(missing)}; expected " + _wanted()
        )
    return positions


def _err(row_no: int, column: str, reason: str) -> FieldError:
    return FieldError(f"row {row_no}, column {column}", reason)
