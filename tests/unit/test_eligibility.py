"""The 2012 high-skill talent registration clauses at their boundaries."""

from dataclasses import replace
from datetime import date

from registry.eligibility import (
    CertificateFacts,
    PersonFacts,
    School,
    age_on,
    assess,
    best_certificate,
)
from registry.insured_months import Period

ON = date(2026, 6, 15)
# 45 years old on ON; the 46th birthday is the day after.
BORN_45 = date(1980, 6, 16)


def months(first: str, last: str, recorded_on: date) -> Period:
    def month(text: str) -> date:
        return date.fromisoformat(f"{text}-01")

    return Period(month(first), month(last), recorded_on)


# 2024-06 to 2026-05: 24 months, recorded before ON.
NON_LOCAL = PersonFacts(
    birth_date=BORN_45,
    hukou="non_local",
    insured_periods=(months("2024-06", "2026-05", date(2026, 5, 1)),),
)
HUNAN = School("湖南某职业技术学院", "vocational_school", "湖南省")
DONGGUAN = School("东莞市技师学院", "technical_school", "广东省")


def cert(
    level: int,
    issued_on: date = date(2020, 1, 1),
    status: str = "valid",
    recorded_on: date | None = None,
):
    return CertificateFacts(
        level=level,
        issued_on=issued_on,
        recorded_on=recorded_on or issued_on,
        status=status,
        number=f"N{level}",
    )


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
        result = assess(replace(NON_LOCAL, insured_periods=()), [cert(level)], ON)
        assert clause(result, 1).passed is passes, level
    result = assess(NON_LOCAL, [cert(2)], ON)
    assert result.eligible and 1 in result.applying_clauses
    assert fact(result, 1, "level_held").actual == 2


def test_clause_2_at_exactly_24_months_and_age_45():
    result = assess(NON_LOCAL, [cert(3)], ON)
    assert result.eligible and result.applying_clauses == [2]
    assert fact(result, 2, "insured_months").passed and fact(result, 2, "age").actual == 45


def test_clause_2_fails_at_23_months_with_every_recent_month_reported():
    # 2024-08 to 2026-06, recorded on ON: the date's month and the two before are known.
    short = (months("2024-08", "2026-06", ON),)
    result = assess(replace(NON_LOCAL, insured_periods=short), [cert(3)], ON)
    assert not result.eligible and result.applying_clauses == []
    assert result.state == "not_eligible" and clause(result, 2).state == "failed"
    insured = fact(result, 2, "insured_months")
    assert insured.passed is False and insured.actual == 23
    assert (
        "1 short of 24, more than the months not reported by then (none) could make up"
        in insured.note
    )
    assert fact(result, 2, "age").passed and fact(result, 2, "level_held").passed


def test_months_not_yet_reported_leave_a_shortfall_undetermined():
    # 2024-07 to 2026-05, recorded 2026-06-01: 23 known; 2026-06 is not reported on ON.
    lagging = (months("2024-07", "2026-05", date(2026, 6, 1)),)
    result = assess(replace(NON_LOCAL, insured_periods=lagging), [cert(3)], ON)
    insured = fact(result, 2, "insured_months")
    assert insured.actual == 23 and insured.passed is None
    assert (
        "1 short of 24, which the months not reported by then (2026-06) could make up"
        in insured.note
    )
    assert clause(result, 2).state == "undetermined" and result.state == "undetermined"
    assert [(m.clause, m.fact) for m in result.missing] == [(2, "insured_months")]
    assert "2026-06" in result.missing[0].reason


def test_only_the_dates_month_and_the_two_before_may_be_unreported():
    # Known up to 2026-03 (ON is in 2026-06): 2026-04 to 2026-06 may not be reported yet.
    def insured(first: str):
        periods = (months(first, "2026-03", date(2026, 4, 10)),)
        return fact(
            assess(replace(NON_LOCAL, insured_periods=periods), [cert(3)], ON), 2, "insured_months"
        )

    at_21 = insured("2024-07")  # 21 known + 3 unreported could make 24
    assert at_21.actual == 21 and at_21.passed is None
    assert "(2026-04, 2026-05, 2026-06)" in at_21.note
    at_20 = insured("2024-08")  # 20 + 3 cannot; older months not recorded count as none
    assert at_20.actual == 20 and at_20.passed is False
    assert "counts as not insured, except the date's month and the two before it" in at_20.note
    # An older gap is not insured: 2025-01 to 2025-06 would make 25 with the rest.
    gap = (
        months("2024-06", "2024-12", date(2025, 1, 10)),
        months("2025-07", "2026-03", date(2026, 4, 10)),
    )
    insured = fact(
        assess(replace(NON_LOCAL, insured_periods=gap), [cert(3)], ON), 2, "insured_months"
    )
    assert insured.actual == 16 and insured.passed is False


def test_months_up_to_the_latest_imported_month_not_recorded_are_not_insured():
    """21 months (2020-01 to 2021-09) imported on 2021-10-05, and the monthly file for
    everyone imported on the 5th of every month since: the person's missing months are
    reported as not paid, however long after the date is."""
    periods = (months("2020-01", "2021-09", date(2021, 10, 5)),)
    person = replace(NON_LOCAL, insured_periods=periods)

    def insured(on: date, through: str):
        through_month = date.fromisoformat(f"{through}-01")
        facts = replace(person, imported_through=through_month)
        return fact(assess(facts, [cert(3)], on), 2, "insured_months")

    for on, through in (
        (date(2021, 10, 5), "2021-09"),
        (date(2021, 11, 5), "2021-10"),
        (date(2021, 12, 5), "2021-11"),
        (date(2030, 1, 5), "2029-12"),
    ):
        result = insured(on, through)
        assert result.actual == 21 and result.passed is False, on
        assert f"a month up to {through}, the latest month of the monthly files" in result.note
    # The date's month only is unknown on 2021-10-05: 1 cannot make up 3.
    assert (
        "more than the months not reported by then (2021-10)"
        in insured(date(2021, 10, 5), "2021-09").note
    )
    # With no file imported since 2021-09, 2021-10 to 2021-12 may still be paid.
    late = insured(date(2021, 12, 5), "2021-09")
    assert late.passed is None
    assert "(2021-10, 2021-11, 2021-12) could make up" in late.note


def test_a_certificate_recorded_after_the_date_does_not_count():
    # Issued before ON, registered here the day after it: not known on ON.
    late = cert(2, issued_on=date(2026, 1, 1), recorded_on=date(2026, 6, 16))
    result = assess(NON_LOCAL, [late, cert(3)], ON)
    level = fact(result, 1, "level_held")
    assert level.actual == 3 and level.passed is False and 1 not in result.applying_clauses
    assert "1 issued by the date recorded after it, not counted" in level.note
    assert assess(NON_LOCAL, [late], date(2026, 6, 16)).applying_clauses == [1]
    recorded_on_the_day = cert(2, issued_on=date(2026, 1, 1), recorded_on=ON)
    assert assess(NON_LOCAL, [recorded_on_the_day], ON).applying_clauses == [1, 2]


def test_hukou_and_school_province_are_read_as_recorded_now():
    result = assess(NON_LOCAL, [cert(1)], ON)
    hukou = next(f for f in result.preconditions if f.name == "hukou")
    assert hukou.note == "as recorded now: no history is kept"
    graduate = replace(NON_LOCAL, fresh_graduate=True, school=DONGGUAN, graduate_year=2025)
    school = fact(assess(graduate, [cert(3)], ON), 3, "graduate_school")
    assert school.note == "东莞市技师学院, 广东省 (as recorded now: no history is kept)"


def test_a_revoked_certificate_does_not_count():
    result = assess(NON_LOCAL, [cert(1, status="revoked")], ON)
    assert not result.eligible and fact(result, 1, "level_held").passed is False
    # The revoked technician certificate is ignored; the valid senior worker one counts.
    result = assess(NON_LOCAL, [cert(1, status="revoked"), cert(3)], ON)
    assert result.applying_clauses == [2] and fact(result, 1, "level_held").actual == 3


def test_clause_3_fresh_graduate_with_senior_worker():
    graduate = replace(
        NON_LOCAL,
        insured_periods=(),
        birth_date=date(2004, 1, 1),
        fresh_graduate=True,
        graduate_school="东莞市技师学院",
        school=DONGGUAN,
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


def test_clause_3_needs_a_school_in_guangdong():
    graduate = replace(
        NON_LOCAL,
        insured_periods=(),
        fresh_graduate=True,
        graduate_school=HUNAN.name,
        school=HUNAN,
        graduate_year=2025,
    )
    result = assess(graduate, [cert(3)], ON)
    school = fact(result, 3, "graduate_school")
    assert school.passed is False and "湖南省" in school.note
    assert clause(result, 3).state == "failed" and 3 not in result.applying_clauses
    # Clause 2 is still open (no insured months recorded): undetermined, not eligible.
    assert result.state == "undetermined" and not result.eligible


def test_clause_3_with_a_school_held_as_text_only_is_undetermined():
    graduate = replace(
        NON_LOCAL,
        birth_date=date(1970, 1, 1),  # too old for clause 2
        fresh_graduate=True,
        graduate_school="某技工学校",
        graduate_year=2025,
    )
    result = assess(graduate, [cert(4)], ON)
    assert clause(result, 3).state == "failed"  # intermediate worker: not enough
    assert result.state == "not_eligible" and result.missing == []
    result = assess(graduate, [cert(3)], ON)
    assert clause(result, 3).state == "undetermined" and clause(result, 2).state == "failed"
    assert fact(result, 3, "graduate_school").passed is None
    assert result.state == "undetermined" and not result.eligible
    assert [(m.clause, m.fact) for m in result.missing] == [(3, "graduate_school")]
    assert "text only" in result.missing[0].reason
    # A linked school without a province on record cannot tell either.
    unknown = replace(graduate, school=School("某技工学校", "technical_school", None))
    assert clause(assess(unknown, [cert(3)], ON), 3).state == "undetermined"
    # Linked to an organisation that is not a school: fails.
    firm = replace(graduate, school=School("某公司", "enterprise", "广东省"))
    assert clause(assess(firm, [cert(3)], ON), 3).state == "failed"


def test_several_clauses_can_apply():
    graduate = replace(
        NON_LOCAL, fresh_graduate=True, graduate_school="s", school=DONGGUAN, graduate_year=2026
    )
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
    assert result.state == "undetermined" and result.missing[0].fact == "hukou"
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
