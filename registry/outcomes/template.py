"""The downloadable report template: both header languages, an example row, notes."""

from __future__ import annotations

import csv
import io

import xlsxwriter

from registry.outcomes.columns import COLUMNS, template_headers

EXAMPLE = [
    "441900199005171232", "张三", "焊工（高级）培训班", "6-18-02-04", "焊工", "80",
    "2026-03-02", "2026-04-30", "是", "S0000123456", "高级工", "2026-05-20", "",
]  # fmt: skip


def template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(template_headers())
    writer.writerow(EXAMPLE)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text = workbook.add_format({"num_format": "@"})  # IDs as text: Excel would round them
    bold = workbook.add_format({"bold": True, "num_format": "@"})
    sheet = workbook.add_worksheet("outcomes 培训结果")
    sheet.write_row(0, 0, template_headers(), bold)
    for position, value in enumerate(EXAMPLE):
        sheet.write_string(1, position, value, text)
    sheet.set_column(0, len(COLUMNS) - 1, 20, text)
    notes = workbook.add_worksheet("notes 说明")
    notes.write_row(0, 0, ["列 Column", "必填 Required", "说明 Notes"], bold)
    for row, column in enumerate(COLUMNS, start=1):
        notes.write_row(
            row,
            0,
            [f"{column.zh}/{column.en}", "是 yes" if column.required else "否 no", column.hint],
        )
    notes.set_column(0, 2, 36)
    workbook.close()
    return buffer.getvalue()
