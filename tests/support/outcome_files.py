"""Building outcome report files for tests (CSV in UTF-8 or GBK, XLSX)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import xlsxwriter

from registry.outcomes.columns import COLUMNS
from registry.resident_ids import compose

ZH_HEADERS = [c.zh for c in COLUMNS]
EN_HEADERS = [c.en for c in COLUMNS]


def person_id(n: int, birth: date = date(1990, 5, 17)) -> str:
    return compose("441900", birth + timedelta(days=n // 900), n % 900 + 1)


def row(
    n: int,
    *,
    name: str | None = None,
    course: str = "焊工培训",
    hours: str = "40",
    start: str = "2026-09-01",
    end: str = "2026-10-30",
    passed: str = "是",
    certificate: tuple[str, str, str] | None = None,
    id_number: str | None = None,
    issuer_code: str = "",
) -> list[str]:
    cert = certificate or ("", "", "")
    return [
        id_number or person_id(n),
        name or f"学员{n}",
        course,
        "6-18-02-04",
        "焊工",
        hours,
        start,
        end,
        passed,
        *cert,
        issuer_code,
    ]


def csv_bytes(
    rows: list[list[str]], headers: list[str] = ZH_HEADERS, encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[str]], headers: list[str] = EN_HEADERS) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, headers)
    for i, values in enumerate(rows, start=1):
        for j, value in enumerate(values):
            if j == 5 and value.isdigit():  # hours as a number, as Excel users type them
                sheet.write_number(i, j, int(value))
            else:
                sheet.write_string(i, j, value)
    workbook.close()
    return buffer.getvalue()
