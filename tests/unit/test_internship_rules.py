"""Pure rules of internship placements and monthly reports, and the row checks of a
monthly attendance file."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from registry.resident_ids import compose
from subsidies.internships import rules
from subsidies.internships.month_rows import (
    KEYS,
    MESSAGES,
    against_claims,
    check_rows,
    normalise_month,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("month", "days", "field"),
    [
        ("2025-03", 22, None),  # placement from the 10th: 22 days of March
        ("2025-03", 23, "days_attended"),
        ("2025-05", 20, None),  # until the 20th
        ("2025-05", 21, "days_attended"),
        ("2025-04", 30, None),
        ("2025-04", 31, "days_attended"),  # April has 30 days
        ("2025-04", 0, "days_attended"),
        ("2025-02", 1, "month"),
        ("2025-06", 1, "month"),
        ("2025-3", 1, "month"),
        ("2025-00", 1, "month"),
        ("", 1, "month"),
    ],
)
def test_check_month(month, days, field):
    _, errors = rules.check_month(month, days, date(2025, 3, 10), date(2025, 5, 20), TODAY)
    assert [e.field for e in errors] == ([field] if field else [])


def test_a_month_is_reported_once_it_or_the_placement_has_ended():
    start, end = date(2026, 10, 1), date(2026, 11, 10)
    assert rules.check_month("2026-11", 10, start, end, date(2026, 11, 10))[1] == []
    assert rules.check_month("2026-11", 9, start, end, date(2026, 11, 9))[1][0].field == "month"
    assert rules.check_month("2026-10", 31, start, end, date(2026, 10, 31))[1] == []
    assert rules.check_month("2026-10", 30, start, end, date(2026, 10, 30))[1] != []


@pytest.mark.parametrize(
    ("insured_from", "insured_to", "expected"),
    [
        (date(2025, 3, 10), date(2025, 3, 31), True),  # exactly the placement's days
        (date(2025, 3, 1), date(2025, 12, 31), True),
        (date(2025, 3, 11), date(2025, 3, 31), False),  # the first day uncovered
        (date(2025, 3, 10), date(2025, 3, 30), False),  # the last
        (date(2025, 4, 1), date(2025, 4, 30), False),
    ],
)
def test_insured_in_period_covers_every_placement_day_of_the_month(
    insured_from, insured_to, expected
):
    first = date(2025, 3, 1)
    covered = rules.insured_in_period(
        first, date(2025, 3, 10), date(2025, 6, 30), insured_from, insured_to
    )
    assert covered is expected


def test_placement_fields_are_trimmed_and_checked():
    new = rules.NewPlacement(
        1, "  东莞 技师学院 ", 5, date(2025, 3, 2), date(2025, 3, 1), "P1",
        date(2025, 3, 1), date(2025, 2, 1),
    )  # fmt: skip
    clean, errors = rules.clean_placement(new)
    assert clean.school == "东莞 技师学院"
    assert [e.field for e in errors] == ["end_date", "insured_to"]
    _, errors = rules.clean_placement(
        rules.NewPlacement(
            1,
            "x" * 101,
            5,
            date(2025, 3, 1),
            date(2025, 3, 1),
            "r",
            date(2025, 3, 1),
            date(2025, 3, 1),
        )
    )
    assert [e.field for e in errors] == ["school"]


def test_keys():
    assert rules.dedupe_key(12, date(2026, 3, 1)) == "internship:12:2026-03"
    assert rules.cap_key(7, 3) == "internship:7:programme-3"
    assert rules.programme_of_cap_key(rules.cap_key(7, 3)) == 3
    # A placement the migration could not map keeps the typed name's key: no programme.
    assert rules.programme_of_cap_key("internship:7:——") is None
    assert rules.programme_of_cap_key("internship:7:programme-3x") is None
    assert rules.programme_of_cap_key("skill_level:7:programme-3") is None
    assert rules.programme_of_cap_key(None) is None


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-03", "2026-03"),
        ("2026-3", "2026-03"),
        ("2026/03", "2026-03"),
        ("2026年3月", "2026-03"),
        ("202603", "2026-03"),
        ("2026-03-01", "2026-03"),
        (" 2026.12 ", "2026-12"),
        ("2026-03-15", "2026-03-15"),  # a day other than the 1st is not a month
        ("March", "March"),
    ],
)
def test_normalise_month(text, month):
    assert normalise_month(text) == month


def _id(n: int) -> str:
    return compose("441900", date(2004, 1, 1), n)


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    data = {k: [r.get(k, "") for r in rows] for k in KEYS}
    return pd.DataFrame({"row": list(range(2, len(rows) + 2)), **data})


PEOPLE = pd.DataFrame(
    {"id_number": [_id(1), _id(2)], "person_id": [101, 102], "name": ["甲", "乙"]}
)
PLACEMENTS = pd.DataFrame(
    {
        "placement_id": [11, 12, 13],
        "person_id": [101, 102, 102],
        "programme_id": [1, 1, 2],
        "programme": ["P", "P", "Q"],
        "school": ["S", "S", "S"],
        "start_date": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-05-01"]),
        "end_date": pd.to_datetime(["2025-06-30", "2025-04-30", "2025-06-15"]),
    }
)


def test_check_rows_resolves_placements_and_reports_every_problem():
    frame = _frame(
        [
            {"id_number": _id(1), "month": "2025-03", "days_attended": "31"},  # 2 ok
            {"id_number": _id(2), "month": "2025-04", "days_attended": "30"},  # 3 ok (12)
            {"id_number": _id(2), "month": "2025-06", "days_attended": "16"},  # 4 > 15 days
            {"id_number": _id(2), "month": "2025-07", "days_attended": "1"},  # 5 none
            {"placement_id": "12", "id_number": _id(1), "month": "2025-03", "days_attended": "1"},
            {"id_number": _id(1), "name": "丙", "month": "2025-04", "days_attended": "1"},  # 7
            {"id_number": _id(1), "month": "2025-04", "days_attended": "1.5"},  # 8
            {"placement_id": "1x", "id_number": _id(1), "month": "2025-04", "days_attended": "2"},
            {"id_number": _id(1), "month": "2025-03", "days_attended": "31"},  # 10 repeat of 2
            {"id_number": _id(1), "month": "2025-03", "days_attended": "30"},  # 11 conflict
            {"id_number": _id(3), "month": "2025-03", "days_attended": "3"},  # 12 unknown
            {"id_number": "", "month": "", "days_attended": ""},  # 13 required x3
        ]
    )
    checked = check_rows(frame, today=TODAY, people=PEOPLE, placements=PLACEMENTS)
    found = set(zip(checked.errors["row"], checked.errors["code"], strict=True))
    assert found == {
        (4, "DAYS_OUTSIDE_PLACEMENT"),
        (5, "PLACEMENT_UNKNOWN"),
        (6, "PLACEMENT_PERSON"),
        (7, "NAME_MISMATCH"),
        (8, "DAYS"),
        (9, "PLACEMENT_ID"),
        (11, "DUPLICATE_ROW"),
        (12, "PERSON_UNKNOWN"),
        (13, "REQUIRED"),
    }
    assert len(checked.errors.loc[checked.errors["row"] == 13]) == 3
    assert checked.repeats == 1
    assert checked.valid["row"].tolist() == [2, 3]
    assert checked.valid["placement_id"].tolist() == [11, 12]
    assert set(checked.errors["code"]) <= set(MESSAGES)


def test_rows_against_live_claims():
    valid = pd.DataFrame(
        {
            "row": [2, 3, 4, 5],
            "placement_id": [11, 11, 12, 13],
            "person_id": [101, 101, 102, 102],
            "programme": ["P", "P", "P", "Q"],
            "school": ["S"] * 4,
            "first": pd.to_datetime(["2025-03-01", "2025-04-01", "2025-04-01", "2025-05-01"]),
            "days_attended": [31, 30, 30, 10],
        }
    )
    held = pd.DataFrame(
        {
            "dedupe_key": ["internship:11:2025-03", "internship:11:2025-04"],
            "days_attended": [31, 20],
        }
    )
    taken = pd.DataFrame(
        {
            "person_id": [101, 101, 102],
            "first": pd.to_datetime(["2025-03-01", "2025-04-01", "2025-05-01"]),
            "dedupe_key": [
                "internship:11:2025-03",
                "internship:11:2025-04",
                "internship:9:2025-05",
            ],
        }
    )
    fresh, duplicates, errors = against_claims(valid, held, taken)
    assert fresh["row"].tolist() == [4]
    assert duplicates == 1
    assert set(zip(errors["row"], errors["code"], strict=True)) == {
        (3, "MONTH_ALREADY_CLAIMED"),
        (5, "MONTH_CLAIMED_ELSEWHERE"),
    }
