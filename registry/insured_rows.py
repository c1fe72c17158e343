"""Row checks of a monthly contribution file exported by the social-insurance system
(pure): one line per person and month paid, with the employer's credit code where the
export has it. A file with any bad row is refused whole, each problem named by its row
and column; nothing of it is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from kernel.errors import FieldError
from registry.insured_months import EARLIEST_MONTH, month_of, parse_month
from registry.outcomes.columns import Column
from registry.resident_ids import check_column

COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号", "ID number", True, "18 characters, GB 11643; store as text"),
    Column("month", "缴费月份", "Month", True, "YYYY-MM, e.g. 2026-03"),
    Column(
        "employer_credit_code",
        "单位统一社会信用代码",
        "Employer credit code",
        False,
        "18 characters, if the export has it",
    ),
)
KEYS = tuple(c.key for c in COLUMNS)
_HEADER = {c.key: c.zh for c in COLUMNS}


@dataclass(frozen=True)
class MonthRow:
    row: int
    id_number: str
    month: date
    employer_credit_code: str | None


def _error(row: int, key: str, reason: str) -> FieldError:
    return FieldError(f"row {row}, column {_HEADER.get(key, key)} ({key})", reason)


def check_rows(
    frame: pd.DataFrame, today: date, known_ids: set[str]
) -> tuple[list[MonthRow], list[FieldError]]:
    """`frame`: "row" and the KEYS as text. `known_ids`: the ID numbers registered here."""
    ids = check_column(frame["id_number"].fillna(""), today)
    rows: list[MonthRow] = []
    errors: list[FieldError] = []
    current = month_of(today)
    for i, raw in enumerate(frame.itertuples(index=False)):
        row = int(raw.row)
        problems = len(errors)
        number = str(ids.numbers.iloc[i])
        if not number:
            errors.append(_error(row, "id_number", "required"))
        elif ids.error.iloc[i]:
            errors.append(_error(row, "id_number", "not a valid resident ID number"))
        elif number not in known_ids:
            errors.append(_error(row, "id_number", "no registered person has this ID number"))
        month = parse_month(str(raw.month or ""))
        if month is None:
            errors.append(_error(row, "month", "must be a month as YYYY-MM"))
        elif not EARLIEST_MONTH <= month <= current:
            errors.append(
                _error(row, "month", f"must be from {EARLIEST_MONTH:%Y-%m} to {current:%Y-%m}")
            )
        code = uscc.compact(str(raw.employer_credit_code or "")) or None
        if code is not None:
            try:
                uscc.validate(code)
            except ValidationError as exc:
                errors.append(
                    _error(row, "employer_credit_code", f"not a valid credit code: {exc}")
                )
        if len(errors) == problems and month is not None:
            rows.append(MonthRow(row, number, month, code))
    return rows, errors


def ids_of(frame: pd.DataFrame, today: date) -> set[str]:
    """The well-formed ID numbers of a file, to look up."""
    ids = check_column(frame["id_number"].fillna(""), today)
    return set(ids.numbers[ids.error == ""])
