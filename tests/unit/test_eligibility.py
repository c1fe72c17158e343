"""The 2012 high-skill talent registration clauses at their boundaries."""

from dataclasses import replace
from datetime import date

from registry.eligibility import (
    CertificateFacts,
    PersonFacts,
    age_on,
    assess,
    best_certificate,
)

ON = date(2026, 6, 15)
# 45 years old on ON; the 46th birthday is the day after.
BORN_45 = date(1980, 6, 16)

NON_LOCAL = PersonFacts(
    birth_date=BORN_45,
    hukou="non_local",
    insured_months=24,
    insured_confirmed_on=date(2026, 5, 1),
)


def cert(level: int, issued_on: date = date(2020, 1, 1), status: str = "valid"):
    return CertificateFacts(level=level, issued_on=issued_on, status=status, number=f"N{level}")


def clause(result, number):
    return next(c for c in result.clauses if c.number == number)


def fact(result, number, name):
    return next(f for f in clause(result, number).facts if f.name == name)


def test_age_is_counted_in_whole_years():
    assert age_on(BORN_45, ON) == 45
    assert age_on(BORN_45, date(2026, 6, 16)) == 46  # the 46th birthday itself
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert age_on(date(2000, 2, 29), date(2026, 3, 1)) == 26


def test_clause_1_technician_or_senior_technician():
    for level, passes in ((1, True), (2, True), (3, False)):
        result = assess(replace(NON_LOCAL, insured_months=0), [cert(level)], ON)
        assert clause(result, 1).passed is passes, level
    result = assess(NON_LOCAL, [cert(2)], ON)
    assert result.eligible and 1 in result.applying_clauses
    assert fact(result, 1, "level_held").actual == 2


def test_clause_2_at_exactly_24_months_and_age_45():
    result = assess(NON_LOCAL, [cert(3)], ON)
    assert result.eligible and result.applying_clauses == [2]
    assert fact(result, 2, "insured_months").passed and fact(result, 2, "age").actual == 45


def test_clause_2_fails_at_23_months():
    result = assess(replace(NON_LOCAL, insured_months=23), [cert(3)], ON)
    assert not result.eligible and result.applying_clauses == []
    months = fact(result, 2, "insured_months")
    assert months.passed is False and months.actual == 23
    assert fact(result, 2, "age").passed and fact(result, 2, "level_held").passed


def test_clause_2_fails_on_the_46th_birthday():
    result = assess(NON_LOCAL, [cert(3)], date(2026, 6, 16))
    assert not result.eligible
    assert fact(result, 2, "age").actual == 46 and fact(result, 2, "age").passed is False


def test_clause_2_needs_senior_worker_not_intermediate():
    assert assess(NON_LOCAL, [cert(3)], ON).eligible
    result = assess(NON_LOCAL, [cert(4)], ON)
    assert not result.eligible and fact(result, 2, "level_held").actual == 4


def test_clause_2_without_a_recorded_insurance_figure():
    result = assess(
        replace(NON_LOCAL, insured_months=None, insured_confirmed_on=None), [cert(3)], ON
    )
    months = fact(result, 2, "insured_months")
    assert months.passed is False and months.actual is None and months.note == "not recorded"


def test_insured_months_come_with_the_date_they_were_confirmed():
    months = fact(assess(NON_LOCAL, [cert(3)], ON), 2, "insured_months")
    assert months.as_of == date(2026, 5, 1) and "2026-05-01" in months.note
    later = replace(NON_LOCAL, insured_confirmed_on=date(2026, 7, 1))
    assert "after the date" in fact(assess(later, [cert(3)], ON), 2, "insured_months").note


def test_a_certificate_issued_the_day_after_does_not_count():
    result = assess(NON_LOCAL, [cert(2, issued_on=date(2026, 6, 16))], ON)
    assert not result.eligible and fact(result, 1, "level_held").actual is None
    assert assess(NON_LOCAL, [cert(2, issued_on=ON)], ON).eligible  # issued on the date


def test_a_revoked_certificate_does_not_count():
    result = assess(NON_LOCAL, [cert(1, status="revoked")], ON)
    assert not result.eligible and fact(result, 1, "level_held").passed is False
    # The revoked technician certificate is ignored; the valid senior worker one counts.
    result = assess(NON_LOCAL, [cert(1, status="revoked"), cert(3)], ON)
    assert result.applying_clauses == [2] and fact(result, 1, "level_held").actual == 3


def test_clause_3_fresh_graduate_with_senior_worker():
    graduate = replace(
        NON_LOCAL,
        insured_months=0,
        birth_date=date(2004, 1, 1),
        fresh_graduate=True,
        graduate_school="东莞市技师学院",
        graduate_year=2024,
    )
    result = assess(graduate, [cert(3)], ON)
    assert result.eligible and result.applying_clauses == [3]
    assert fact(result, 3, "fresh_graduate").note == "东莞市技师学院"
    # 2024 is within on.year - 2; 2023 is not fresh any more.
    stale = assess(replace(graduate, graduate_year=2023), [cert(3)], ON)
    assert not stale.eligible and fact(stale, 3, "graduate_year").passed is False
    assert not assess(graduate, [cert(4)], ON).eligible
    assert not assess(replace(graduate, fresh_graduate=False), [cert(3)], ON).eligible


def test_several_clauses_can_apply():
    graduate = replace(NON_LOCAL, fresh_graduate=True, graduate_school="s", graduate_year=2026)
    assert assess(graduate, [cert(2)], ON).applying_clauses == [1, 2, 3]


def test_local_hukou_people_are_not_applicants():
    result = assess(replace(NON_LOCAL, hukou="local"), [cert(1)], ON)
    assert result.eligible is False and result.applying_clauses == []
    assert "local hukou" in result.reason
    hukou = next(f for f in result.preconditions if f.name == "hukou")
    assert hukou.passed is False and hukou.actual == "local"
    assert clause(result, 1).passed  # the facts are still shown


def test_an_unknown_hukou_must_be_confirmed():
    result = assess(replace(NON_LOCAL, hukou="unknown"), [cert(1)], ON)
    assert result.eligible is False and "confirmed" in result.reason
    assert next(f for f in result.preconditions if f.name == "hukou").passed is None


def test_criminal_record_is_reported_as_not_held_here():
    result = assess(NON_LOCAL, [cert(1)], ON)
    record = next(f for f in result.preconditions if f.name == "no_criminal_record")
    assert record.passed is None and "public security bureau" in record.note
    assert result.eligible and "public security bureau" in result.reason


def test_the_best_certificate_is_the_lowest_level_number_then_the_earliest():
    certs = [cert(3, date(2019, 1, 1)), cert(2, date(2022, 1, 1)), cert(2, date(2021, 1, 1))]
    best = best_certificate(certs, ON)
    assert best.level == 2 and best.issued_on == date(2021, 1, 1)
    assert best_certificate([], ON) is None
