"""The bank payment (代发) file's layouts and contents (pure apart from reading the
layouts file, which `configured_layouts` does once per process: the API and the
workers call it at startup, so a broken file stops them there instead of failing
every download).

Each bank sets its own column order and headers, so layouts are data
(payment_layouts.toml, described in docs/payment-files.md). Every layout holds the same
fields: 序号, 收款账号, 收款户名, 开户行, 联行号, 金额, 对私/对公, 用途/附言, 参考号.

Amounts are yuan computed from fen with integers only: numbers with the format 0.00 in
XLSX (so SUM works), text with exactly two decimals in CSV ("9000.00"). After the lines
both files carry a control record: 合计 in the first column, the number of lines in the
second, the total in the amount column. Account numbers and bank codes stay text (Excel
would round a 19-digit number)."""

from __future__ import annotations

import csv
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from kernel.errors import InvalidInput
from kernel.labels import SCHEME, label
from registry.exports import BOM, Column, csv_cell
from subsidies.batches.payees import PERSON
from subsidies.batches.rules import yuan

LAYOUTS_FILE = Path(__file__).parent / "payment_layouts.toml"
DEFAULT = "default"
TOTAL_LABEL = "合计"

FIELDS = (
    "line_no", "account", "name", "bank", "bank_code", "amount", "kind", "purpose", "reference",
)  # fmt: skip
_NAME = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True)
class LayoutColumn:
    field: str
    header: str
    width: int | None = None


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    sheet: str
    personal: str  # how the kind column writes 对私
    corporate: str  # and 对公
    columns: tuple[LayoutColumn, ...]


def parse_layouts(document: Mapping[str, Any]) -> dict[str, Layout]:
    """Layouts from the TOML document; ValueError naming the layout and what is wrong."""
    layouts = {}
    for name, spec in document.items():
        where = f"payment layout {name!r}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"{where}: a name is 1 to 32 of a-z, 0-9, _ and -")
        columns = tuple(
            LayoutColumn(c["field"], c["header"], c.get("width")) for c in spec["columns"]
        )
        fields = [c.field for c in columns]
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(FIELDS)}")
        missing = [f for f in FIELDS if f not in fields]
        if missing or len(fields) != len(FIELDS):
            raise ValueError(f"{where}: every field exactly once (missing: {', '.join(missing)})")
        if fields.index("amount") < 2:
            raise ValueError(f"{where}: the control record holds the count in column 2, so the "
                             "amount comes later")  # fmt: skip
        layouts[name] = Layout(
            name, spec["title"], spec.get("sheet", "payments"), str(spec["personal"]),
            str(spec["corporate"]), columns,
        )  # fmt: skip
    if DEFAULT not in layouts:
        raise ValueError(f"the payment layouts need one named {DEFAULT!r}")
    return layouts


def load_layouts(path: Path = LAYOUTS_FILE) -> dict[str, Layout]:
    """Layouts from a file; ValueError saying which file and what is wrong with it."""
    try:
        with path.open("rb") as source:
            return parse_layouts(tomllib.load(source))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError,
            ValueError) as exc:  # fmt: skip
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"payment layouts file {path}: {what}") from exc


@functools.cache
def configured_layouts() -> dict[str, Layout]:
    """The repository's layouts, read and checked once."""
    return load_layouts(LAYOUTS_FILE)


def layout_named(name: str | None, layouts: Mapping[str, Layout] | None = None) -> Layout:
    """The layout a download asks for (`layout=`); InvalidInput naming an unknown one."""
    layouts = layouts or configured_layouts()
    chosen = name or DEFAULT
    if chosen not in layouts:
        raise InvalidInput.single(
            "layout", f"unknown payment file layout {chosen!r}; known: {', '.join(layouts)}"
        )
    return layouts[chosen]


def purpose(scheme: str, basis_date: date | None) -> str:
    """用途/附言: the scheme in Chinese and the claim's month, 技能等级提升资助 2026年11月."""
    name = label(SCHEME, scheme)
    if basis_date is None:
        return name
    return f"{name} {basis_date.year}年{basis_date.month}月"


def rows(layout: Layout, lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per line, keyed by field; `amount` in fen (each writer formats it)."""
    return [
        {
            "line_no": line["line_no"],
            "account": line["payee_account"],
            "name": line["payee_name"],
            "bank": line["payee_bank"],
            "bank_code": line.get("payee_bank_code") or "",
            "amount": line["amount_fen"],
            "kind": layout.personal if line["payee_kind"] == PERSON else layout.corporate,
            "purpose": purpose(line["scheme"], line.get("basis_date")),
            "reference": line["reference"],
        }
        for line in lines
    ]


def _control(layout: Layout, table: list[dict[str, Any]]) -> list[Any]:
    """The control record: 合计, the count, and the total (fen) in the amount column."""
    record: list[Any] = [None] * len(layout.columns)
    record[0], record[1] = TOTAL_LABEL, len(table)
    amount_at = [c.field for c in layout.columns].index("amount")
    record[amount_at] = sum(row["amount"] for row in table)
    return record


def write_csv(path: Path, layout: Layout, table: list[dict[str, Any]]) -> None:
    """UTF-8 with BOM (Excel and the banks' upload pages read it); text cells that
    Excel would run as a formula are quoted (registry.exports.csv_cell)."""
    text = Column("t", "", "")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(BOM)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.header for c in layout.columns])
        for row in table:
            writer.writerow(
                [
                    yuan(row["amount"]) if c.field == "amount" else csv_cell(text, row[c.field])
                    for c in layout.columns
                ]
            )
        control = _control(layout, table)
        amount_at = [c.field for c in layout.columns].index("amount")
        control[amount_at] = yuan(control[amount_at])
        writer.writerow(["" if v is None else v for v in control])


def write_xlsx(path: Path, layout: Layout, table: list[dict[str, Any]]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        header = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
        money = book.add_format({"num_format": "0.00"})
        sheet = book.add_worksheet(layout.sheet)
        for i, column in enumerate(layout.columns):
            sheet.set_column(i, i, column.width or max(10, len(column.header) * 2 + 2))
            sheet.write_string(0, i, column.header, header)
        sheet.freeze_panes(1, 0)
        r = 0
        for r, row in enumerate(table, start=1):
            for i, column in enumerate(layout.columns):
                value = row[column.field]
                if column.field == "amount":
                    # fen / 100 is the nearest double to the yuan amount; the format shows
                    # exactly the two decimals the CSV carries.
                    sheet.write_number(r, i, value / 100, money)
                elif column.field == "line_no":
                    sheet.write_number(r, i, value)
                else:
                    sheet.write_string(r, i, str(value))
        control = _control(layout, table)
        for i, value in enumerate(control):
            if value is None:
                continue
            if layout.columns[i].field == "amount":
                sheet.write_number(r + 1, i, value / 100, money)
            elif isinstance(value, int):
                sheet.write_number(r + 1, i, value)
            else:
                sheet.write_string(r + 1, i, value)
    finally:
        book.close()
