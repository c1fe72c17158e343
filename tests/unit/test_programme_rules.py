"""Registered internship programmes' rules, pure: one name however it is spelled, terms
within the policy, placements within the programme's dates."""

from __future__ import annotations

from datetime import date

from subsidies.internships import programme_rules as prules

POLICY = prules.ProgrammeTerms(300_000, 3, 900_000)


def fields(**changes) -> prules.ProgrammeFields:
    base = {
        "name": "百校千人-2026",
        "plan_year": 2026,
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31),
    }
    return prules.ProgrammeFields(**{**base, **changes})


def test_spellings_of_one_name_are_one_key():
    keys = {
        prules.name_key(n)
        for n in (
            "百校千人-2026",
            "百校千人2026",
            "百校千人 2026",
            "百校千人－２０２６",
            "百校千人·2026",
        )
    }
    assert keys == {"百校千人2026"}
    assert prules.name_key("莞训2026") != prules.name_key("百校千人2026")
    assert prules.name_key(" -- ") == ""


def test_fields_are_checked_together():
    clean, errors = prules.check_fields(fields(name="  百校千人   2026 "))
    assert clean.name == "百校千人 2026" and errors == []
    _, errors = prules.check_fields(fields(name="——", plan_year=1999, end_date=date(2025, 12, 31)))
    assert [e.field for e in errors] == ["name", "plan_year", "end_date"]
    _, errors = prules.check_fields(fields(name="计" * 61))
    assert [e.field for e in errors] == ["name"]


def test_terms_default_to_the_policy_and_never_exceed_it():
    terms, errors = prules.terms_within_policy(fields(), POLICY, 1)
    assert terms == POLICY and errors == []
    terms, errors = prules.terms_within_policy(fields(monthly_rate_fen=200_000), POLICY, 1)
    assert terms.monthly_rate_fen == 200_000 and errors == []
    _, errors = prules.terms_within_policy(
        fields(max_months=4, cap_per_intern_fen=1_200_000), POLICY, 1
    )
    assert [e.field for e in errors] == ["max_months", "cap_per_intern_fen"]
    assert "policy version 1" in errors[0].reason


def test_a_placement_lies_within_its_programme():
    start, end = date(2026, 3, 1), date(2026, 8, 31)
    assert prules.placement_outside(date(2026, 3, 1), date(2026, 8, 31), start, end) == []
    errors = prules.placement_outside(date(2026, 2, 1), date(2026, 9, 1), start, end)
    assert [e.field for e in errors] == ["start_date", "end_date"]
    assert "2026-03-01 to 2026-08-31" in errors[0].reason


def test_claims_beyond_the_limits_in_claim_order():
    # Months count once they pay; unpriced and zero months take no place.
    claims = [
        (1, "2026-03", 300_000),
        (2, "2026-04", None),
        (3, "2026-04", 0),
        (4, "2026-04", 300_000),
        (5, "2026-05", 300_000),
        (6, "2026-06", 300_000),
    ]
    assert prules.beyond_the_limits(claims, 900_000, 3) == [6]
    # The cap binds before the months: the third month would pass 7,000 yuan.
    assert prules.beyond_the_limits(claims, 700_000, 3) == [5, 6]
    assert prules.beyond_the_limits(claims, 900_000, 2) == [5, 6]
    assert prules.beyond_the_limits([(1, "2026-03", 300_000)], 900_000, 3) == []


def test_a_calendar_month_counts_once_and_pays_once():
    # Two placements reported March: the second claim is beyond, whatever the cap.
    claims = [(1, "2026-03", 300_000), (2, "2026-03", 300_000), (3, "2026-04", 300_000)]
    assert prules.beyond_the_limits(claims, 900_000, 3) == [2]
    assert prules.beyond_the_limits(claims, 900_000, 2) == [2]
    assert prules.beyond_the_limits(claims, 600_000, 3) == [2]


def test_a_mapped_placements_months_paid_elsewhere():
    moved = [(7, "2026-03", "submitted"), (8, "2026-04", "approved"), (9, "2026-05", "paid")]
    elsewhere = [(20, "2026-04", "approved"), (21, "2026-03", "paid"), (22, "2026-09", "paid")]
    assert prules.months_paid_already(moved, elsewhere) == [7, 8]
    assert prules.months_paid_already(moved, []) == []


def test_a_paid_month_wins_over_one_only_approved():
    # The moved May is paid; the other placement's May is only approved: that one stops.
    moved = [(9, "2026-05", "paid"), (10, "2026-06", "paid")]
    elsewhere = [(30, "2026-05", "approved"), (31, "2026-06", "paid")]
    # June is paid on both sides: the moved one is flagged for recovery.
    assert prules.months_paid_already(moved, elsewhere) == [30, 10]
