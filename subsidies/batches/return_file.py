"""Reading the bank's return file (pure): CSV with a header row naming the columns
reference, amount, result and reason (Chinese names accepted too), one row per payment.
Row numbers are the file's own line numbers as a spreadsheet shows them (the header is
row 1), so a clerk can find each problem. Any malformed row rejects the whole file:
nothing from it is applied. The file is held to the upload limits (kernel.file_limits:
its longest line, fields per line, longest field; 413 or 400 on `file`) and read in a
child process limited in memory and CPU time (`read`, run by kernel.sandbox)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal

from kernel.errors import FieldError, InvalidInput
from kernel.file_limits import FileLimits, LineScanner, csv_records
from subsidies.batches import rules

MAX_ERRORS = 200
_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,2})?")

HEADERS = {
    "reference": ("reference", "payment reference", "支付参考号", "参考号"),
    "amount": ("amount", "amount (yuan)", "金额", "金额(元)"),
    "result": ("result", "status", "结果", "状态"),
    "reason": ("reason", "failure reason", "原因", "失败原因"),
}
RESULTS = {
    "paid": rules.PAID,
    "成功": rules.PAID,
    "failed": rules.LINE_FAILED,
    "失败": rules.LINE_FAILED,
}


@dataclass(frozen=True)
class ReturnRow:
    row: int
    reference: str
    amount_fen: int
    result: str  # paid / failed
    reason: str | None


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB 18030 (what Excel on Chinese Windows saves)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def parse_amount(text: str) -> int | None:
    """'9000', '9000.5', '9,000.00' -> fen; None when not a positive amount with at most
    two decimals. Decimal, never float: 0.1 + 0.2 must not reach a reconciliation."""
    cleaned = text.strip().replace(",", "")
    if not _AMOUNT.fullmatch(cleaned):  # no exponents, signs, NaN or a third decimal
        return None
    value = Decimal(cleaned)
    return int(value * 100) if value > 0 else None


def read(data: bytes, limits: FileLimits) -> tuple[list[ReturnRow], list[FieldError]]:
    """The file as uploaded: its longest line, then its text, then its rows. A line,
    a field or a record past the limits raises (TooLarge, InvalidInput on `file`)."""
    LineScanner(limits.max_line_bytes).feed(data)
    try:
        text = decode(data)
    except UnicodeDecodeError:
        raise InvalidInput.single("file", "the file is neither UTF-8 nor GB18030 text") from None
    return parse(text, limits)


def parse(text: str, limits: FileLimits | None = None) -> tuple[list[ReturnRow], list[FieldError]]:
    if "\x00" in text:  # no database stores it, and no bank writes it
        return [], [FieldError("file", "the file contains NUL characters: not a CSV text file")]
    try:
        return _parse(text, limits or FileLimits())
    except csv.Error as exc:
        return [], [FieldError("file", f"not a readable CSV file: {exc}")]
    except InvalidInput as exc:  # an unterminated quote, too many fields, ...
        return [], list(exc.errors)


def _parse(text: str, limits: FileLimits) -> tuple[list[ReturnRow], list[FieldError]]:
    reader = csv_records(io.StringIO(text, newline=""), limits, strict=True)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        return [], [FieldError("file", "the first row must be the header: " + _wanted())]
    positions, errors = _positions(header)
    if errors:
        return [], errors
    rows: list[ReturnRow] = []
    first_seen: dict[str, int] = {}
    for row_no, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row, row_errors = _row(row_no, cells, positions)
        if row is not None:
            if row.reference in first_seen:
                row_errors.append(
                    _err(
                        row_no,
                        "reference",
                        f"appears again (first at row {first_seen[row.reference]})",
                    )
                )
            first_seen.setdefault(row.reference, row_no)
        errors.extend(row_errors)
        if row is not None and not row_errors:
            rows.append(row)
        if len(errors) >= MAX_ERRORS:
            errors.append(FieldError("file", f"stopped after {MAX_ERRORS} errors"))
            break
    if not rows and not errors:
        errors.append(FieldError("file", "the file has a header but no rows"))
    return rows, errors


def _wanted() -> str:
    return ", ".join(HEADERS)


def _positions(header: list[str]) -> tuple[dict[str, int], list[FieldError]]:
    names = [cell.strip().lower() for cell in header]
    positions: dict[str, int] = {}
    for key, aliases in HEADERS.items():
        found = [i for i, name in enumerate(names) if name in aliases]
        if found:
            positions[key] = found[0]
    missing = [key for key in ("reference", "amount", "result") if key not in positions]
    if missing:
        return positions, [
            FieldError("header", f"missing column(s) {', '.join(missing)}; expected " + _wanted())
        ]
    return positions, []


def _err(row_no: int, column: str, reason: str) -> FieldError:
    return FieldError(f"row {row_no}, column {column}", reason)


def _row(
    row_no: int, cells: list[str], positions: dict[str, int]
) -> tuple[ReturnRow | None, list[FieldError]]:
    def cell(key: str) -> str:
        i = positions.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    errors = []
    reference = cell("reference")
    if not reference:
        errors.append(_err(row_no, "reference", "is empty"))
    amount_text = cell("amount")
    amount = parse_amount(amount_text)
    if amount is None:
        errors.append(
            _err(
                row_no,
                "amount",
                f"{amount_text!r} is not a positive yuan amount with at most 2 decimals",
            )
        )
    result = RESULTS.get(cell("result").lower())
    if result is None:
        errors.append(_err(row_no, "result", f"{cell('result')!r} must be paid or failed"))
    reason = cell("reason") or None
    if result == rules.LINE_FAILED and not reason:
        errors.append(_err(row_no, "reason", "a failed payment needs the bank's reason"))
    if errors or amount is None or result is None:
        return (ReturnRow(row_no, reference, 0, "", None) if reference else None), errors
    return ReturnRow(row_no, reference, amount, result, reason), errors
