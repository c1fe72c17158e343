"""Row checks of a monthly attendance file (pure, vectorised over the rows' text).

A host lists months of its interns: ID number, month, days attended, and, when the
intern has more than one placement with the host touching that month, the placement id
(or the programme). Every problem of a rejected row is reported with its row number,
column and code; a rejected row changes nothing. The file is read and its error report
written by registry.outcomes (reading, upload, error_files), so it behaves like an
outcome report: CSV (UTF-8 or GBK) or XLSX, Chinese or English headers.

Outcomes of a checked row:
- accepted: becomes a claim;
- duplicate: the same placement, month and days as a live claim, or as an earlier row
  of the file (a re-uploaded file creates nothing);
- rejected: listed in the error file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from registry.outcomes.columns import Column
from registry.outcomes.row_errors import MESSAGES as OUTCOME_MESSAGES
from registry.resident_ids import check_column
from subsidies.internships import rules
from subsidies.internships.programme_rules import name_key

COLUMNS: tuple[Column, ...] = (
    Column(
        "placement_id",
        "实习登记号",
        "Placement ID",
        False,
        "the id given at registration; blank: found from the ID number and month",
    ),
    Column("id_number", "身份证号", "ID number", True, "18 characters, GB 11643; store as text"),
    Column("name", "姓名", "Name", False, "if given, must match the registry"),
    Column(
        "programme",
        "项目",
        "Programme",
        False,
        "a registered programme's name, e.g. 百校千人-2026; tells placements apart",
    ),
    Column("month", "月份", "Month", True, "YYYY-MM, e.g. 2026-03"),
    Column(
        "days_attended",
        "出勤天数",
        "Days attended",
        True,
        "1 to the days of the month, within the placement",
    ),
)
KEYS = tuple(c.key for c in COLUMNS)
MAX_LENGTH = {"placement_id": 12, "name": 50, "programme": 60}

MESSAGES: dict[str, tuple[str, str]] = {
    **{
        code: OUTCOME_MESSAGES[code]
        for code in (
            "REQUIRED",
            "ID_FORMAT",
            "ID_CHECKSUM",
            "ID_BIRTH_DATE",
            "ID_FUTURE_BIRTH",
            "TOO_LONG",
            "NAME_MISMATCH",
            "COLUMN_COUNT",
            "CONTROL_CHARACTER",
        )
    },
    "MONTH_FORMAT": ("月份格式不正确, 请用 YYYY-MM, 例如 2026-03", "not a month; use YYYY-MM"),
    "DAYS": (
        "出勤天数须为1至当月天数的整数",
        "days attended must be a whole number from 1 to the days of the month",
    ),
    "PLACEMENT_ID": ("实习登记号须为数字", "placement ID must be a number"),
    "PERSON_UNKNOWN": ("该身份证号未登记", "no registered person has this ID number"),
    "PLACEMENT_UNKNOWN": (
        "未找到本单位该实习生在该月份的实习登记",
        "no placement of yours for this intern covers this month",
    ),
    "PLACEMENT_PERSON": (
        "实习登记号与身份证号不是同一实习生",
        "the placement ID belongs to another intern",
    ),
    "PLACEMENT_AMBIGUOUS": (
        "该实习生在该月份有多个实习登记, 请填写实习登记号",
        "this intern has several placements in this month: give the placement ID",
    ),
    "MONTH_OUTSIDE_PLACEMENT": (
        "该月份不在实习期内",
        "the month is outside the placement's dates",
    ),
    "DAYS_OUTSIDE_PLACEMENT": (
        "出勤天数多于该月实习期内的天数",
        "more days than the placement has in this month",
    ),
    "MONTH_NOT_ENDED": (
        "该月(或实习期)尚未结束, 不能申报",
        "the month (or the placement) has not ended yet",
    ),
    "DUPLICATE_ROW": (
        "与文件中前面一行为同一实习登记同一月份但出勤天数不同",
        "same placement and month as an earlier row, with other days",
    ),
    "MONTH_ALREADY_CLAIMED": (
        "该实习登记该月份已申报且出勤天数不同; 如需更正请先撤回原申请",
        "this month is already claimed with other days; withdraw that claim first",
    ),
    "MONTH_CLAIMED_ELSEWHERE": (
        "该实习生该月份已由其他实习登记申报 (每人每月只计一次)",
        "this intern's month is already claimed under another placement (paid once)",
    ),
}

VALID_COLUMNS = [
    "row",
    "placement_id",
    "person_id",
    "programme_id",
    "programme",
    "school",
    "first",
    "days_attended",
]


@dataclass
class CheckedRows:
    valid: pd.DataFrame  # VALID_COLUMNS; `first` is the month's first day (datetime64)
    errors: pd.DataFrame  # row, column, code
    repeats: int  # rows repeating an earlier row exactly (duplicates)


def empty_errors() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series([], dtype="int64"),
            "column": pd.Series([], dtype=object),
            "code": pd.Series([], dtype=object),
        }
    )


class _Errors:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def flag(self, rows: np.ndarray, column: str, code: str) -> None:
        if len(rows):
            self.parts.append(
                pd.DataFrame(
                    {"row": np.asarray(rows, dtype=np.int64), "column": column, "code": code}
                )
            )

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.parts, ignore_index=True) if self.parts else empty_errors()


def _months(text: pd.Series) -> pd.Series:
    """Each distinct text parsed once: the month's first day (datetime64) or NaT."""
    uniques = text.unique()
    parsed = {value: rules.parse_month(normalise_month(value)) for value in uniques}
    return pd.to_datetime(text.map(parsed), errors="coerce")


def normalise_month(text: str) -> str:
    """ "2026-03", "2026-3", "2026/03", "2026年3月", "202603", and a spreadsheet date
    of the month's first day ("2026-03-01") all mean 2026-03."""
    value = text.strip().replace("年", "-").replace("月", "").replace("/", "-").replace(".", "-")
    if len(value) == 6 and value.isdigit():
        value = f"{value[:4]}-{value[4:]}"
    if len(value) == 10 and value.endswith("-01"):
        value = value[:7]
    year, _, month = value.partition("-")
    return f"{year}-{month.zfill(2)}" if month.isdigit() and len(month) <= 2 else value


def check_rows(
    frame: pd.DataFrame, *, today: date, people: pd.DataFrame, placements: pd.DataFrame
) -> CheckedRows:
    """`people`: id_number, person_id, name of the registered people the file names.
    `placements`: placement_id, person_id, programme_id, programme (its name), school,
    start_date, end_date of the host's placements of those people. A programme given in
    the file matches its name without width, spaces or punctuation differences."""
    errors = _Errors()
    rows = frame["row"].to_numpy(dtype=np.int64)
    blank = {k: (frame[k] == "").to_numpy() for k in KEYS}
    bad = np.zeros(len(frame), dtype=bool)

    def flag(mask: np.ndarray, column: str, code: str) -> None:
        nonlocal bad
        errors.flag(rows[mask], column, code)
        bad |= mask

    for key in ("id_number", "month", "days_attended"):
        flag(blank[key], key, "REQUIRED")
    for key, limit in MAX_LENGTH.items():
        flag((frame[key].str.len() > limit).to_numpy(), key, "TOO_LONG")

    ids = check_column(frame["id_number"], today)
    id_error = ids.error.to_numpy()
    for code in ("ID_FORMAT", "ID_CHECKSUM", "ID_BIRTH_DATE", "ID_FUTURE_BIRTH"):
        flag((id_error == code) & ~blank["id_number"], "id_number", code)

    first = _months(frame["month"])
    month_ok = first.notna().to_numpy()
    flag(~month_ok & ~blank["month"], "month", "MONTH_FORMAT")
    dim = np.where(month_ok, first.dt.days_in_month.fillna(31).to_numpy(dtype=np.int64), 31)
    days = pd.to_numeric(frame["days_attended"], errors="coerce").to_numpy(dtype=float)
    days_ok = np.isfinite(days) & (np.mod(days, 1) == 0) & (days >= 1) & (days <= dim)
    flag(~days_ok & ~blank["days_attended"], "days_attended", "DAYS")

    given_placement = ~blank["placement_id"]
    placement_text = frame["placement_id"].str.strip()
    placement_ok = placement_text.str.fullmatch(r"\d{1,12}").to_numpy(dtype=bool)
    flag(given_placement & ~placement_ok, "placement_id", "PLACEMENT_ID")

    id_ok = ~blank["id_number"] & (id_error == "")
    registered = people.drop_duplicates("id_number").set_index("id_number")
    person_id = ids.numbers.map(registered["person_id"]).to_numpy(dtype=float)
    known = id_ok & ~np.isnan(person_id)
    flag(id_ok & ~known, "id_number", "PERSON_UNKNOWN")
    registered_name = ids.numbers.map(registered["name"]).fillna("").to_numpy(dtype=object)
    name = frame["name"].to_numpy(dtype=object)
    flag(known & ~blank["name"] & (name != registered_name), "name", "NAME_MISMATCH")

    work = pd.DataFrame(
        {
            "position": np.arange(len(frame)),
            "row": rows,
            "person_id": np.where(known, person_id, -1).astype(np.int64),
            "first": first.to_numpy(),
            "days_attended": np.where(days_ok, days, 0).astype(np.int64),
            "programme_given": _name_keys(frame["programme"]).to_numpy(dtype=object),
            "placement_given": np.where(
                given_placement & placement_ok, pd.to_numeric(placement_text, errors="coerce"), -1
            ).astype(np.int64),
        }
    ).loc[~bad]
    resolved = _resolve(work, placements, errors)
    resolved = _within_placement(resolved, today, errors)
    valid, repeats = _within_file(resolved, errors)
    return CheckedRows(valid[VALID_COLUMNS].reset_index(drop=True), errors.frame(), repeats)


def _name_keys(names: pd.Series) -> pd.Series:
    """Each distinct name compared once (programme_rules.name_key); blank stays blank."""
    keys = {value: name_key(value) if value else "" for value in names.unique()}
    return names.map(keys)


def _resolve(work: pd.DataFrame, placements: pd.DataFrame, errors: _Errors) -> pd.DataFrame:
    """The placement of each row: the one named, or the host's only placement of the
    intern touching the month (narrowed by programme when given)."""
    places = placements.rename(columns={"person_id": "placement_person"})
    places = places.assign(programme_key=_name_keys(places["programme"].astype(object)))
    named = work.loc[work["placement_given"] >= 0].merge(
        places, left_on="placement_given", right_on="placement_id", how="left"
    )
    missing = named["placement_id"].isna() | (
        (named["programme_given"] != "") & (named["programme_given"] != named["programme_key"])
    )
    errors.flag(named.loc[missing, "row"].to_numpy(), "placement_id", "PLACEMENT_UNKNOWN")
    other_person = ~missing & (named["placement_person"] != named["person_id"])
    errors.flag(named.loc[other_person, "row"].to_numpy(), "placement_id", "PLACEMENT_PERSON")
    named = named.loc[~missing & ~other_person]

    unnamed = work.loc[work["placement_given"] < 0]
    candidates = unnamed.merge(
        places, left_on="person_id", right_on="placement_person", how="inner"
    )
    last = candidates["first"] + pd.offsets.MonthEnd(0)
    touches = (pd.to_datetime(candidates["start_date"]) <= last) & (
        pd.to_datetime(candidates["end_date"]) >= candidates["first"]
    )
    same_programme = (candidates["programme_given"] == "") | (
        candidates["programme_given"] == candidates["programme_key"]
    )
    candidates = candidates.loc[touches & same_programme]
    count = candidates.groupby("position").size().reindex(unnamed["position"], fill_value=0)
    errors.flag(
        unnamed.loc[(count == 0).to_numpy(), "row"].to_numpy(), "id_number", "PLACEMENT_UNKNOWN"
    )
    errors.flag(
        unnamed.loc[(count > 1).to_numpy(), "row"].to_numpy(),
        "placement_id",
        "PLACEMENT_AMBIGUOUS",
    )
    single = candidates.loc[candidates["position"].map(count) == 1]
    return pd.concat([named, single], ignore_index=True).sort_values("position")


def _within_placement(rows: pd.DataFrame, today: date, errors: _Errors) -> pd.DataFrame:
    """The month inside the placement, the days inside its days of the month, and the
    month (or placement) over by today."""
    first = pd.to_datetime(rows["first"])
    since = np.maximum(first, pd.to_datetime(rows["start_date"]))
    until = np.minimum(first + pd.offsets.MonthEnd(0), pd.to_datetime(rows["end_date"]))
    available = (until - since).dt.days + 1
    outside = (available <= 0).to_numpy()
    errors.flag(rows.loc[outside, "row"].to_numpy(), "month", "MONTH_OUTSIDE_PLACEMENT")
    too_many = ~outside & (rows["days_attended"] > available).to_numpy()
    errors.flag(rows.loc[too_many, "row"].to_numpy(), "days_attended", "DAYS_OUTSIDE_PLACEMENT")
    open_month = ~outside & ~too_many & (until > pd.Timestamp(today)).to_numpy()
    errors.flag(rows.loc[open_month, "row"].to_numpy(), "month", "MONTH_NOT_ENDED")
    return rows.loc[~(outside | too_many | open_month)]


def _within_file(rows: pd.DataFrame, errors: _Errors) -> tuple[pd.DataFrame, int]:
    """The first row of a placement-month counts; an identical later row is a duplicate,
    one with other days is rejected; a second placement of the same intern-month too."""
    rows = rows.sort_values("position")
    same = rows.duplicated(["placement_id", "first", "days_attended"])
    repeats = int(same.sum())
    rows = rows.loc[~same]
    conflicting = rows.duplicated(["placement_id", "first"])
    errors.flag(rows.loc[conflicting, "row"].to_numpy(), "days_attended", "DUPLICATE_ROW")
    rows = rows.loc[~conflicting]
    elsewhere = rows.duplicated(["person_id", "first"])
    errors.flag(rows.loc[elsewhere, "row"].to_numpy(), "month", "MONTH_CLAIMED_ELSEWHERE")
    valid = rows.loc[~elsewhere].copy()
    valid["placement_id"] = valid["placement_id"].astype(np.int64)
    return valid, repeats


def against_claims(
    valid: pd.DataFrame, held: pd.DataFrame, person_months: pd.DataFrame
) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Rows against live claims. `held`: dedupe_key, days_attended of live claims of the
    rows' placement-months; `person_months`: person_id, first (datetime64), dedupe_key of
    live claims of the rows' intern-months. Returns (new rows, duplicates, errors)."""
    errors = _Errors()
    keys = (
        rules.SCHEME
        + ":"
        + valid["placement_id"].astype(str)
        + ":"
        + pd.to_datetime(valid["first"]).dt.strftime("%Y-%m")
    )
    held_days = keys.map(
        held.drop_duplicates("dedupe_key").set_index("dedupe_key")["days_attended"]
    )
    claimed = held_days.notna().to_numpy()
    same = claimed & (held_days.to_numpy(dtype=float) == valid["days_attended"].to_numpy())
    errors.flag(valid.loc[claimed & ~same, "row"].to_numpy(), "month", "MONTH_ALREADY_CLAIMED")
    others = valid.merge(
        person_months.assign(first=pd.to_datetime(person_months["first"])),
        on=["person_id", "first"],
        how="left",
    )["dedupe_key"]
    elsewhere = ~claimed & others.notna().to_numpy() & (others.to_numpy() != keys.to_numpy())
    errors.flag(valid.loc[elsewhere, "row"].to_numpy(), "month", "MONTH_CLAIMED_ELSEWHERE")
    fresh = valid.loc[~claimed & ~elsewhere]
    return fresh, int(same.sum()), errors.frame()
