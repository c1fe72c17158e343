"""Checking a year's holiday schedule as an admin enters it, from a list and from a file
(CSV or XLSX): every problem named at its place, nothing guessed."""

import io
from datetime import date, datetime

import pytest
import xlsxwriter

from calendar_days import schedule_file
from calendar_days.schedule import Entry, check_entries, check_source
from calendar_days.warnings import missing_next_year
from kernel.errors import FieldError, InvalidInput
from kernel.file_limits import FileLimits

NEW_YEAR = [
    Entry(date(2027, 1, 1), "holiday", "元旦"),
    Entry(date(2027, 1, 2), "holiday", "元旦"),
    Entry(date(2027, 1, 3), "holiday", "元旦"),
]


def api(i: int, column: str) -> str:
    return f"days[{i}].{column}"


def test_a_good_schedule_passes():
    entries = [*NEW_YEAR, Entry(date(2027, 2, 20), "working_day", "春节")]  # a Saturday
    assert check_entries(2027, entries, api) == []
    assert check_source(" 国办发明电〔2026〕N号 ") == []


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (  # outside the year
            [*NEW_YEAR, Entry(date(2028, 1, 1), "holiday", "元旦")],
            FieldError("days[3].date", "2028-01-01 is not in 2027"),
        ),
        (  # an adjusted working day on a weekday
            [*NEW_YEAR, Entry(date(2027, 2, 17), "working_day", "春节")],
            FieldError(
                "days[3].date",
                "2027-02-17 is a weekday; an adjusted working day (调休上班) is a Saturday or "
                "Sunday",
            ),
        ),
        (  # both a holiday and a working day
            [*NEW_YEAR, Entry(date(2027, 1, 2), "working_day", "元旦")],
            FieldError(
                "days[3].date",
                "2027-01-02 is both a holiday and an adjusted working day (see days[1].date)",
            ),
        ),
        (  # twice
            [*NEW_YEAR, Entry(date(2027, 1, 1), "holiday", "元旦")],
            FieldError("days[3].date", "2027-01-01 appears again (first at days[0].date)"),
        ),
        (
            [*NEW_YEAR, Entry(date(2027, 2, 6), "day_off", "春节")],
            FieldError("days[3].kind", "'day_off' must be holiday or working_day"),
        ),
        (
            [*NEW_YEAR, Entry(date(2027, 2, 6), "holiday", "  ")],
            FieldError("days[3].name", "name the holiday, e.g. 春节"),
        ),
        (
            [Entry(date(2027, 2, 20), "working_day", "春节")],
            FieldError("days", "the schedule for 2027 has no holiday"),
        ),
    ],
)
def test_each_refusal_names_its_place(entries, expected):
    assert check_entries(2027, entries, api) == [expected]


def test_a_schedule_names_its_source():
    assert check_source("")[0].field == "source"
    assert check_source("x" * 201)[0].reason == "at most 200 characters"


def csv_file(lines: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def test_a_csv_file_in_chinese_with_gbk_and_chinese_words():
    data = csv_file(
        [
            "日期,类型,名称",
            "2027-01-01,放假,元旦",
            "2027/2/20,上班,春节",
            "",
            "2027-01-02,holiday,元旦",
        ],
        "gb18030",
    )
    entries, errors = schedule_file.read(data, FileLimits())
    assert errors == []
    assert entries == [
        (2, Entry(date(2027, 1, 1), "holiday", "元旦")),
        (3, Entry(date(2027, 2, 20), "working_day", "春节")),
        (5, Entry(date(2027, 1, 2), "holiday", "元旦")),
    ]


def test_file_rows_are_named_by_row_and_column():
    data = csv_file(["date,kind,name", "2027-02-30,holiday,春节", "2027-01-01,nap,元旦"])
    entries, errors = schedule_file.read(data, FileLimits())
    assert errors == [
        FieldError("row 2, column date", "'2027-02-30' is not a date YYYY-MM-DD"),
    ]
    rows = [row for row, _ in entries]
    checked = check_entries(
        2027, [e for _, e in entries], lambda i, column: f"row {rows[i]}, column {column}"
    )
    assert checked == [FieldError("row 3, column kind", "'nap' must be holiday or working_day")]


def test_a_file_without_the_columns_is_refused_at_its_header():
    _, errors = schedule_file.read(csv_file(["day,what", "2027-01-01,x"]), FileLimits())
    assert errors[0].field == "row 1" and "misses column(s) date, kind, name" in errors[0].reason
    _, errors = schedule_file.read(csv_file(["date,kind,name"]), FileLimits())
    assert errors == [FieldError("file", "the file has a header but no rows")]


def test_a_file_past_the_rows_a_year_has_is_refused():
    lines = ["date,kind,name"] + ["2027-01-01,holiday,元旦"] * 121
    with pytest.raises(InvalidInput) as caught:
        schedule_file.read(csv_file(lines), FileLimits())
    assert caught.value.errors[0].field == "file"


def test_an_xlsx_file_with_date_cells():
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    dates = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["date", "kind", "name"])
    sheet.write_datetime(1, 0, datetime(2027, 1, 1), dates)
    sheet.write_row(1, 1, ["holiday", "元旦"])
    sheet.write_string(2, 0, "2027-02-20")
    sheet.write_row(2, 1, ["working_day", "春节"])
    workbook.close()
    entries, errors = schedule_file.read(buffer.getvalue(), FileLimits())
    assert errors == []
    assert entries == [
        (2, Entry(date(2027, 1, 1), "holiday", "元旦")),
        (3, Entry(date(2027, 2, 20), "working_day", "春节")),
    ]


def test_next_years_schedule_is_asked_for_from_november():
    assert missing_next_year(date(2026, 10, 31), {2026}) == []
    [warning] = missing_next_year(date(2026, 11, 1), {2026})
    assert "schedule for 2027 has not been entered" in warning
    assert "PUT /api/v1/calendar/years/2027" in warning
    assert missing_next_year(date(2026, 12, 31), {2026, 2027}) == []
