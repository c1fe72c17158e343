"""Row checks of an outcome report: pure and vectorised over a chunk of text columns.

A row with any problem is rejected whole; every problem is reported (row, column,
code), so the institution can fix the file in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from registry import occupations
from registry.levels import LEVEL_ALIASES
from registry.outcomes.columns import CERTIFICATE_KEYS
from registry.resident_ids import CheckedIds, check_column

MAX_HOURS = 2000
MAX_LENGTH = {
    "name": 50,
    "course": 100,
    "occupation_name": 60,
    "certificate_number": 40,
}
REQUIRED = (
    "id_number",
    "name",
    "course",
    "occupation_code",
    "occupation_name",
    "hours",
    "start_date",
    "end_date",
    "passed",
)
_YES = {"是", "合格", "通过", "yes", "y", "true", "1", "pass", "passed"}
_NO = {"否", "不合格", "未通过", "no", "n", "false", "0", "fail", "failed"}
PASSED_VALUES = {**{v: True for v in _YES}, **{v: False for v in _NO}}

ERROR_COLUMNS = ["row", "column", "code"]


@dataclass
class CheckedRows:
    valid: pd.DataFrame  # typed columns, see `_typed`
    errors: pd.DataFrame  # row, column, code; several per row possible


def check_rows(
    frame: pd.DataFrame, *, today: date, issuers: dict[str, int], own_id: int
) -> CheckedRows:
    """`issuers`: credit code -> organisation id of every issuer code the file names
    that exists; a blank issuer code means the reporting institution (`own_id`)."""
    problems: list[pd.DataFrame] = []
    row_numbers = frame["row"].to_numpy()

    def flag(mask: np.ndarray, column: str, code: str) -> None:
        if mask.any():
            problems.append(
                pd.DataFrame({"row": row_numbers[mask], "column": column, "code": code})
            )

    blank = {key: (frame[key] == "").to_numpy(dtype=bool) for key in frame.columns if key != "row"}
    for key in REQUIRED:
        flag(blank[key], key, "REQUIRED")
    for key, limit in MAX_LENGTH.items():
        flag(frame[key].str.len().to_numpy() > limit, key, "TOO_LONG")

    ids = check_column(frame["id_number"], today)
    id_error = ids.error.to_numpy()
    for code in ("ID_FORMAT", "ID_CHECKSUM", "ID_BIRTH_DATE", "ID_FUTURE_BIRTH"):
        flag((id_error == code) & ~blank["id_number"], "id_number", code)

    # Columns with few distinct values (codes, hours, dates, yes/no) are checked once
    # per distinct value and mapped back: a million rows hold a few hundred dates.
    code_ok = via_uniques(
        frame["occupation_code"],
        lambda u: u.str.fullmatch(occupations.CODE_PATTERN).to_numpy(dtype=bool),
    )
    flag(~code_ok & ~blank["occupation_code"], "occupation_code", "OCCUPATION_CODE")

    hours = via_uniques(
        frame["hours"], lambda u: pd.to_numeric(u, errors="coerce").to_numpy(dtype=float)
    )
    hours_ok = ~np.isnan(hours) & (hours == np.floor(hours)) & (hours >= 1) & (hours <= MAX_HOURS)
    flag(~hours_ok & ~blank["hours"], "hours", "HOURS")

    dates = {
        key: via_uniques(frame[key], parse_dates)
        for key in ("start_date", "end_date", "certificate_date")
    }
    today64 = np.datetime64(today)
    for key, values in dates.items():
        flag(np.isnat(values) & ~blank[key], key, "DATE_FORMAT")
        flag(~np.isnat(values) & (values > today64), key, "DATE_FUTURE")
    start, end = dates["start_date"], dates["end_date"]
    flag(~np.isnat(start) & ~np.isnat(end) & (end < start), "end_date", "DATE_ORDER")

    passed_code = via_uniques(
        frame["passed"],
        lambda u: (
            u.str.lower()
            .map({k: int(v) for k, v in PASSED_VALUES.items()})
            .fillna(-1)
            .to_numpy(dtype=np.int8)
        ),
    )
    passed_known = passed_code >= 0
    flag(~passed_known & ~blank["passed"], "passed", "PASSED_VALUE")
    passed = passed_code == 1

    cert_given = np.column_stack([~blank[k] for k in CERTIFICATE_KEYS])
    has_cert = cert_given.all(axis=1)
    partial = cert_given.any(axis=1) & ~has_cert
    for position, key in enumerate(CERTIFICATE_KEYS):
        flag(partial & ~cert_given[:, position], key, "CERTIFICATE_INCOMPLETE")
    issuer_given = ~blank["certificate_issuer_code"]
    flag(issuer_given & ~has_cert, "certificate_issuer_code", "CERTIFICATE_INCOMPLETE")

    levels = via_uniques(
        frame["certificate_level"],
        lambda u: (
            u.str.lower()
            .str.removesuffix(".0")
            .map(LEVEL_ALIASES)
            .fillna(0)
            .to_numpy(dtype=np.int64)
        ),
    )
    flag(has_cert & (levels == 0), "certificate_level", "CERTIFICATE_LEVEL")
    flag(has_cert & passed_known & ~passed, "passed", "CERTIFICATE_NOT_PASSED")
    cert_date = dates["certificate_date"]
    flag(
        has_cert & ~np.isnat(cert_date) & ~np.isnat(start) & (cert_date < start),
        "certificate_date",
        "CERTIFICATE_BEFORE_COURSE",
    )
    issuer_ids = via_uniques(
        frame["certificate_issuer_code"],
        lambda u: u.str.upper().map(issuers).fillna(0).to_numpy(dtype=np.int64),
    )
    flag(issuer_given & (issuer_ids == 0), "certificate_issuer_code", "CERTIFICATE_ISSUER_UNKNOWN")

    errors = pd.concat(problems, ignore_index=True) if problems else empty_errors()
    ok = ~np.isin(row_numbers, errors["row"].to_numpy())
    issuer_ids = np.where(issuer_given, issuer_ids, own_id)
    return CheckedRows(
        valid=_typed(frame, ok, ids, hours, dates, passed, has_cert, levels, issuer_ids),
        errors=errors,
    )


def empty_errors() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "row" else "str") for c in ERROR_COLUMNS}
    )


def via_uniques(values: pd.Series, check: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """`check` applied to each distinct value once, spread back to every row."""
    codes, uniques = pd.factorize(values)
    return check(pd.Series(uniques, dtype="str"))[codes]


def parse_dates(values: pd.Series) -> np.ndarray:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYYMMDD (single-digit months and days
    allowed) -> datetime64[D]; NaT where it is none of them (or not a calendar date)."""
    text = values.str.replace(r"[/.]", "-", regex=True).str.replace(
        r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True
    )
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")


def _typed(
    frame: pd.DataFrame,
    ok: np.ndarray,
    ids: CheckedIds,
    hours: np.ndarray,
    dates: dict[str, np.ndarray],
    passed: np.ndarray,
    has_cert: np.ndarray,
    levels: np.ndarray,
    issuer_ids: np.ndarray,
) -> pd.DataFrame:
    """The accepted rows with typed values: text stays in Arrow columns, dates are
    datetime64[D], hours, levels and issuers integers."""
    kept = frame.loc[ok, ["row", "name", "course", "occupation_code", "occupation_name"]]
    kept = kept.reset_index(drop=True)
    cert = has_cert[ok]
    kept["id_number"] = ids.numbers[ok].reset_index(drop=True)
    kept["birth_date"] = ids.birth_date[ok]
    kept["sex"] = pd.Series(ids.sex[ok], dtype="str")
    kept["hours"] = hours[ok].astype(np.int64)
    kept["start_date"] = dates["start_date"][ok]
    kept["end_date"] = dates["end_date"][ok]
    kept["passed"] = passed[ok]
    kept["has_certificate"] = cert
    number = frame["certificate_number"][ok].reset_index(drop=True)
    kept["certificate_number"] = number.where(cert, "")
    kept["certificate_level"] = np.where(cert, levels[ok], 0)
    kept["certificate_date"] = np.where(cert, dates["certificate_date"][ok], np.datetime64("NaT"))
    kept["issuer_id"] = np.where(cert, issuer_ids[ok], 0)
    return kept
