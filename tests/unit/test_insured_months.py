"""Dated insured months: what was known on a day, overlaps, and the period checks."""

from datetime import date

from registry.insured_months import (
    Period,
    add_months,
    check_period,
    known_on,
    parse_month,
    total_months,
)
from registry.provinces import province_name


def test_a_month_is_known_from_the_day_it_is_recorded():
    period = Period(date(2026, 1, 1), date(2026, 3, 1), recorded_on=date(2026, 4, 10))
    assert known_on([period], date(2026, 4, 9)).months == 0
    assert known_on([period], date(2026, 4, 9)).recorded_later == 3
    assert known_on([period], date(2026, 4, 9)).last_recorded is None
    known = known_on([period], date(2026, 4, 10))
    assert known.months == 3 and known.last_recorded == date(2026, 4, 10)


def test_months_after_the_dates_month_are_not_counted():
    period = Period(date(2026, 1, 1), date(2026, 12, 1), recorded_on=date(2026, 1, 1))
    assert known_on([period], date(2026, 3, 31)).months == 3
    assert known_on([period], date(2026, 4, 1)).months == 4


def test_overlapping_periods_count_each_month_once():
    periods = [
        Period(date(2025, 1, 1), date(2025, 12, 1), date(2026, 1, 5)),
        Period(date(2025, 7, 1), date(2026, 2, 1), date(2026, 3, 1)),
        Period(date(2025, 7, 1), date(2025, 7, 1), date(2026, 3, 1), "import"),
    ]
    assert total_months(periods) == 14
    assert known_on(periods, date(2026, 3, 1)).months == 14
    early = known_on(periods, date(2026, 2, 28))
    assert early.months == 12 and early.recorded_later == 2  # 2026-01 and 2026-02


def test_months_are_parsed_and_checked():
    assert parse_month("2026-03") == date(2026, 3, 1)
    assert parse_month(" 2026-12 ") == date(2026, 12, 1)
    for bad in ("2026-13", "2026-00", "2026-3", "202603", "2026-03-01", "", "0000-01"):
        assert parse_month(bad) is None, bad
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 12, 1), -23) == date(2025, 1, 1)
    today = date(2026, 12, 8)
    assert check_period(date(2026, 1, 1), date(2026, 12, 1), today) is None
    assert "after the current month" in check_period(date(2026, 1, 1), date(2027, 1, 1), today)
    assert "before the first" in check_period(date(2026, 2, 1), date(2026, 1, 1), today)
    assert "before 1950" in check_period(date(1949, 12, 1), date(2026, 1, 1), today)


def test_the_dates_month_and_the_two_before_are_unreported_unless_known():
    period = Period(date(2025, 1, 1), date(2026, 4, 1), recorded_on=date(2026, 5, 10))
    assert known_on([period], date(2026, 6, 15)).unreported == (
        date(2026, 5, 1),
        date(2026, 6, 1),
    )
    # Recorded after the date: not known on it, so unreported then.
    assert known_on([period], date(2026, 5, 9)).unreported == (
        date(2026, 3, 1),
        date(2026, 4, 1),
        date(2026, 5, 1),
    )
    current = Period(date(2026, 4, 1), date(2026, 6, 1), recorded_on=date(2026, 6, 15))
    assert known_on([period, current], date(2026, 6, 15)).unreported == ()
    assert known_on([], date(1950, 2, 3)).unreported == (date(1950, 1, 1), date(1950, 2, 1))
    assert known_on([], date(1, 1, 1)).unreported == ()


def test_the_months_after_the_latest_imported_month_are_unreported():
    period = Period(date(2020, 1, 1), date(2021, 9, 1), recorded_on=date(2021, 10, 5))
    # Files imported through 2026-04: only May and June may be unreported on 2026-06-15.
    assert known_on([period], date(2026, 6, 15), date(2026, 4, 1)).unreported == (
        date(2026, 5, 1),
        date(2026, 6, 1),
    )
    # A file reaching the date's month leaves nothing unreported.
    assert known_on([period], date(2026, 6, 15), date(2026, 6, 1)).unreported == ()
    # Imports stopped at 2021-11: every later month up to the date is unknown.
    assert known_on([period], date(2022, 3, 1), date(2021, 11, 1)).unreported == (
        date(2021, 12, 1),
        date(2022, 1, 1),
        date(2022, 2, 1),
        date(2022, 3, 1),
    )


def test_provinces_by_name_short_name_or_code():
    for given in ("广东省", "广东", "44", "440000", " 广东省 "):
        assert province_name(given) == "广东省", given
    assert province_name("43") == "湖南省" and province_name("湖南") == "湖南省"
    assert province_name("广州") is None and province_name("99") is None
