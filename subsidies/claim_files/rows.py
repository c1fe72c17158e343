"""The columns of a claim file and the checks of one row's cells (pure: no database).

A claim file carries one claim per row under one scheme: the fields of the scheme's
`ClaimRequest` as columns. Every scheme has the person (by resident ID number or by the
registry's person id) and the basis date; the scheme's claim kind declares the keys of
its `details` (subsidies.claims.claim_kinds.DetailField). Headers may be Chinese,
English or both, as in the template; cells are read as text and checked here, then the
scheme's builder judges the claim itself (subsidies.claim_files.processing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.outcomes.columns import Column
from registry.outcomes.row_errors import MESSAGES as OUTCOME_MESSAGES
from registry.resident_ids import InvalidResidentId, parse
from subsidies.claims.claim_kinds import ClaimKind, DetailField

MAX_ID = 2**31 - 1
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"\d{1,10}")

GENERAL: tuple[Column, ...] = (
    Column(
        "id_number", "身份证号", "ID number", False, "the person's; 18 characters, store as text"
    ),
    Column("person_id", "人员ID", "Person ID", False, "the registry's id; or give the ID number"),
    Column(
        "basis_date",
        "基准日期",
        "Basis date",
        False,
        "YYYY-MM-DD; blank: today (most schemes take it from the record claimed for)",
    ),
)

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
            "DATE_FORMAT",
            "COLUMN_COUNT",
            "CONTROL_CHARACTER",
        )
    },
    "NOT_AN_ID": ("须为正整数编号", "must be a whole number above 0 (a record's id)"),
    "PERSON_UNKNOWN": ("该身份证号未登记", "no registered person has this ID number"),
    "PERSON_MISMATCH": (
        "身份证号与人员ID不是同一人",
        "the ID number and the person ID name different people",
    ),
    # The scheme's own checks: the row's message says why (see processing).
    "REFUSED": ("不予受理", "refused"),
    "CONFLICT": ("与现有记录冲突", "conflicts with an existing record"),
    "NOT_FOUND": ("未找到该记录", "no such record of yours"),
}


def detail_column(detail: DetailField) -> Column:
    return Column(detail.key, detail.zh, detail.en, detail.required, detail.hint)


def columns_for(kind: ClaimKind) -> tuple[Column, ...]:
    """The file's columns under this scheme: the general ones, then its details."""
    return GENERAL + tuple(detail_column(d) for d in kind.details)


@dataclass
class CheckedRow:
    """A row's typed values, or its problems as (column key, code)."""

    id_number: str | None = None
    person_id: int | None = None
    basis_date: date | None = None
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _id(text: str) -> int | None:
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _date(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _typed(kind: str, text: str) -> tuple[Any, str | None]:
    """A cell's value of this kind, or the problem's code."""
    if kind == "id":
        value = _id(text)
        return value, None if value is not None else "NOT_AN_ID"
    if kind == "date":
        day = _date(text)
        return day, None if day is not None else "DATE_FORMAT"
    return text, None


def check_row(cells: dict[str, str], kind: ClaimKind, today: date) -> CheckedRow:
    """`cells`: column key -> the cell's text (blank when the column is absent)."""
    row = CheckedRow()
    raw_id = cells.get("id_number", "").strip()
    if raw_id:
        try:
            row.id_number = parse(raw_id, today).number
        except InvalidResidentId as exc:
            row.problems.append(("id_number", exc.code))
    person = cells.get("person_id", "").strip()
    if person:
        row.person_id = _id(person)
        if row.person_id is None:
            row.problems.append(("person_id", "NOT_AN_ID"))
    basis = cells.get("basis_date", "").strip()
    row.basis_date = _date(basis) if basis else today
    if row.basis_date is None:
        row.problems.append(("basis_date", "DATE_FORMAT"))
    for detail in kind.details:
        text = cells.get(detail.key, "").strip()
        if not text:
            if detail.required:
                row.problems.append((detail.key, "REQUIRED"))
            continue
        if detail.kind == "text" and len(text) > detail.max_length:
            row.problems.append((detail.key, "TOO_LONG"))
            continue
        value, problem = _typed(detail.kind, text)
        if problem:
            row.problems.append((detail.key, problem))
        else:
            row.details[detail.key] = value
    return row


def column_of(error_field: str | None, row: CheckedRow, kind: ClaimKind) -> str:
    """The column a builder's error field names ("details.certificate_id" ->
    certificate_id; person_id given as an ID number -> id_number); "*" for none."""
    if not error_field:
        return "*"
    key = error_field.removeprefix("details.")
    if key == "person_id" and row.id_number is not None:
        return "id_number"
    known = {c.key for c in columns_for(kind)}
    return key if key in known else "*"
