"""Row checks of an outcome report: pure and vectorised over a chunk of text columns.

A row with any problem is rejected whole; every problem is reported (row, column,
code), so the institution can fix the file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from registry import occupations
from registry.levels import LEVEL_ALIASES
from registry.outcomes.columns import CERTIFICATE_KEYS
from registry.resident_ids import check_column

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

    def flag(mask: pd.Series | np.ndarray, column: str, code: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append(
                pd.DataFrame({"row": frame["row"].to_numpy()[mask], "column": column, "code": code})
            )

    blank = {key: (frame[key] == "").to_numpy() for key in frame.columns if key != "row"}
    for key in REQUIRED:
        flag(blank[key], key, "REQUIRED")
    for key, limit in MAX_LENGTH.items():
        flag(frame[key].str.len().to_numpy() > limit, key, "TOO_LONG")

    ids = check_column(frame["id_number"], today)
    id_error = ids.error.to_numpy()
    for code in ("ID_FORMAT", "ID_CHECKSUM", "ID_BIRTH_DATE", "ID_FUTURE_BIRTH"):
        flag((id_error == code) & ~blank["id_number"], "id_number", code)

    flag(
        ~frame["occupation_code"].str.fullmatch(occupations.CODE_PATTERN).to_numpy(dtype=bool)
        & ~blank["occupation_code"],
        "occupation_code",
        "OCCUPATION_CODE",
    )

    hours = pd.to_numeric(frame["hours"], errors="coerce").to_numpy(dtype=float)
    hours_ok = ~np.isnan(hours) & (hours == np.floor(hours)) & (hours >= 1) & (hours <= MAX_HOURS)
    flag(~hours_ok & ~blank["hours"], "hours", "HOURS")

    dates = {key: parse_dates(frame[key]) for key in ("start_date", "end_date", "certificate_date")}
    today64 = np.datetime64(today)
    for key, values in dates.items():
        bad = pd.isna(values) & ~blank[key]
        flag(bad, key, "DATE_FORMAT")
        flag(~pd.isna(values) & (values > today64), key, "DATE_FUTURE")
    start, end = dates["start_date"], dates["end_date"]
    flag(~pd.isna(start) & ~pd.isna(end) & (end < start), "end_date", "DATE_ORDER")

    passed_text = frame["passed"].str.lower()
    passed_known = passed_text.isin(PASSED_VALUES.keys()).to_numpy(dtype=bool)
    flag(~passed_known & ~blank["passed"], "passed", "PASSED_VALUE")
    passed = passed_text.map(PASSED_VALUES).fillna(False).to_numpy(dtype=bool)

    cert_given = np.column_stack([~blank[k] for k in CERTIFICATE_KEYS])
    has_cert = cert_given.all(axis=1)
    partial = cert_given.any(axis=1) & ~has_cert
    for position, key in enumerate(CERTIFICATE_KEYS):
        flag(partial & ~cert_given[:, position], key, "CERTIFICATE_INCOMPLETE")
    issuer_given = ~blank["certificate_issuer_code"]
    flag(issuer_given & ~has_cert, "certificate_issuer_code", "CERTIFICATE_INCOMPLETE")

    levels = frame["certificate_level"].str.lower().str.removesuffix(".0").map(LEVEL_ALIASES)
    flag(has_cert & levels.isna().to_numpy(), "certificate_level", "CERTIFICATE_LEVEL")
    flag(has_cert & passed_known & ~passed, "passed", "CERTIFICATE_NOT_PASSED")
    cert_date = dates["certificate_date"]
    flag(
        has_cert & ~pd.isna(cert_date) & ~pd.isna(start) & (cert_date < start),
        "certificate_date",
        "CERTIFICATE_BEFORE_COURSE",
    )
    issuer_ids = frame["certificate_issuer_code"].str.upper().map(issuers)
    flag(
        issuer_given & issuer_ids.isna().to_numpy(),
        "certificate_issuer_code",
        "CERTIFICATE_ISSUER_UNKNOWN",
    )

    errors = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(
            {c: pd.Series([], dtype="int64" if c == "row" else "str") for c in ERROR_COLUMNS}
        )
    )
    ok = ~frame["row"].isin(errors["row"]).to_numpy()
    valid = _typed(frame, ok, ids, hours, dates, passed, has_cert, levels, issuer_ids, own_id)
    return CheckedRows(valid=valid, errors=errors)


def parse_dates(values: pd.Series) -> np.ndarray:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYYMMDD (single-digit months and days
    allowed) -> datetime64[D]; NaT where it is none of them or blank."""
    text = values.str.replace(r"[/.]", "-", regex=True).str.replace(
        r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True
    )
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")


def _typed(
    frame: pd.DataFrame,
    ok: np.ndarray,
    ids,  # CheckedIds
    hours: np.ndarray,
    dates: dict[str, np.ndarray],
    passed: np.ndarray,
    has_cert: np.ndarray,
    levels: pd.Series,
    issuer_ids: pd.Series,
    own_id: int,
) -> pd.DataFrame:
    """The accepted rows with typed values: dates as ISO text (both engines store
    that), hours and levels as integers."""

    def iso(values: np.ndarray) -> np.ndarray:
        return np.datetime_as_string(values[ok], unit="D")

    cert = has_cert[ok]
    cert_date = np.where(cert, np.datetime_as_string(dates["certificate_date"][ok], unit="D"), "")
    return pd.DataFrame(
        {
            "row": frame["row"].to_numpy()[ok],
            "id_number": ids.numbers.to_numpy()[ok],
            "name": frame["name"].to_numpy()[ok],
            "birth_date": np.datetime_as_string(
                ids.birth_date.to_numpy(dtype="datetime64[D]")[ok], unit="D"
            ),
            "sex": ids.sex.to_numpy()[ok],
            "course": frame["course"].to_numpy()[ok],
            "occupation_code": frame["occupation_code"].to_numpy()[ok],
            "occupation_name": frame["occupation_name"].to_numpy()[ok],
            "hours": hours[ok].astype(np.int64),
            "start_date": iso(dates["start_date"]),
            "end_date": iso(dates["end_date"]),
            "passed": passed[ok],
            "has_certificate": cert,
            "certificate_number": np.where(cert, frame["certificate_number"].to_numpy()[ok], ""),
            "certificate_level": np.where(cert, levels.fillna(0).to_numpy()[ok], 0).astype(
                np.int64
            ),
            "certificate_date": cert_date,
            "issuer_id": np.where(cert, issuer_ids.fillna(own_id).to_numpy()[ok], 0).astype(
                np.int64
            ),
        }
    )
