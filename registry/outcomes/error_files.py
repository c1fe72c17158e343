"""The downloadable list of rejected rows, in CSV and XLSX, in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from registry.outcomes.columns import BY_KEY, Column
from registry.outcomes.row_errors import MESSAGES

HEADERS = ["行号/Row", "列/Column", "错误代码/Error code", "说明", "Message"]


def error_table(
    errors: pd.DataFrame,
    columns: tuple[Column, ...] | None = None,
    messages: dict[str, tuple[str, str]] = MESSAGES,
) -> pd.DataFrame:
    """One line per problem, sorted by row, with both messages. `columns` and
    `messages`: another file's (default: an outcome report's)."""
    ordered = errors.sort_values(["row", "column"], kind="stable")
    by_key = BY_KEY if columns is None else {c.key: c for c in columns}
    column_names = {k: f"{c.zh}/{c.en}" for k, c in by_key.items()} | {"*": "整行/whole row"}
    return pd.DataFrame(
        {
            HEADERS[0]: ordered["row"].to_numpy(),
            HEADERS[1]: ordered["column"].map(column_names).fillna(ordered["column"]).to_numpy(),
            HEADERS[2]: ordered["code"].to_numpy(),
            HEADERS[3]: _messages(ordered, messages, 0),
            HEADERS[4]: _messages(ordered, messages, 1),
        }
    )


def _messages(
    errors: pd.DataFrame, messages: dict[str, tuple[str, str]], language: int
) -> np.ndarray:
    """The code's message; a row's own (columns `zh`, `en`, where not null) instead,
    for problems whose reason is the row's (a claim file quoting a scheme's refusal)."""
    by_code = errors["code"].map(lambda c: messages[c][language])
    own = ("zh", "en")[language]
    if own in errors.columns:
        by_code = errors[own].where(errors[own].notna(), by_code)
    return by_code.to_numpy()


def write(
    errors: pd.DataFrame,
    csv_path: Path,
    xlsx_path: Path,
    columns: tuple[Column, ...] | None = None,
    messages: dict[str, tuple[str, str]] = MESSAGES,
) -> None:
    table = error_table(errors, columns, messages)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    # With a byte-order mark Excel opens UTF-8 Chinese text correctly.
    table.to_csv(csv_path, index=False, encoding="utf-8-sig")
    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = workbook.add_worksheet("errors")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, HEADERS, bold)
    for i, values in enumerate(table.itertuples(index=False, name=None), start=1):
        sheet.write_row(i, 0, values)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 2, 28)
    sheet.set_column(3, 4, 50)
    workbook.close()
