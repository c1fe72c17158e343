"""The cell checks of a claim file's row (pure): the general columns every scheme has,
and the detail columns a scheme's claim kind declares."""

from __future__ import annotations

from datetime import date

from subsidies.claim_files.rows import GENERAL, check_row, column_of, columns_for
from subsidies.claims.claim_kinds import ClaimKind, DetailField

TODAY = date(2026, 11, 28)
GOOD_ID = "11010519491231002X"


async def _build(actor, request):  # never called here
    raise AssertionError


KIND = ClaimKind(
    "example",
    _build,
    ("enterprise",),
    (
        DetailField("certificate_id", "证书ID", "Certificate ID", "id", True, ""),
        DetailField("note", "备注", "Note", "text", False, "", max_length=5),
        DetailField("day", "日期", "Day", "date", False, ""),
    ),
)


def test_the_columns_are_the_general_ones_then_the_schemes_details():
    keys = [c.key for c in columns_for(KIND)]
    assert keys == ["id_number", "person_id", "basis_date", "certificate_id", "note", "day"]
    assert [c.required for c in GENERAL] == [False, False, False]


def test_a_good_row_is_typed():
    row = check_row(
        {"id_number": " 11010519491231002x ", "certificate_id": "42", "day": "2026-01-31"},
        KIND,
        TODAY,
    )
    assert row.problems == []
    assert row.id_number == GOOD_ID  # normalised: upper case, trimmed
    assert row.basis_date == TODAY  # blank: today
    assert row.details == {"certificate_id": 42, "day": date(2026, 1, 31)}


def test_every_problem_of_a_row_is_named_with_its_column():
    row = check_row(
        {
            "id_number": GOOD_ID[:-1] + "1",
            "person_id": "0",
            "basis_date": "2026-02-30",
            "certificate_id": "",
            "note": "too long",
            "day": "31/01/2026",
        },
        KIND,
        TODAY,
    )
    assert row.problems == [
        ("id_number", "ID_CHECKSUM"),
        ("person_id", "NOT_AN_ID"),
        ("basis_date", "DATE_FORMAT"),
        ("certificate_id", "REQUIRED"),
        ("note", "TOO_LONG"),
        ("day", "DATE_FORMAT"),
    ]


def test_ids_are_whole_numbers_within_range():
    for text, ok in (("1", True), ("2147483647", True), ("2147483648", False), ("1.5", False)):
        row = check_row({"certificate_id": text}, KIND, TODAY)
        assert (row.problems == []) is ok, text


def test_a_builders_field_names_its_column():
    row = check_row({"id_number": GOOD_ID, "certificate_id": "1"}, KIND, TODAY)
    assert column_of("details.certificate_id", row, KIND) == "certificate_id"
    assert column_of("person_id", row, KIND) == "id_number"  # the row named the person so
    assert column_of("outcome", row, KIND) == "*"
    assert column_of(None, row, KIND) == "*"
