"""Working days counted on an injected calendar. The official schedules come from the
library the migration seeds the calendar table with, checked against the State Council's
notices:

- 2025 (国办发明电〔2024〕12号): Spring Festival 28 Jan - 4 Feb off, Sunday 26 Jan and
  Saturday 8 Feb worked; National Day with Mid-Autumn 1-8 Oct off, Sunday 28 Sep and
  Saturday 11 Oct worked.
- 2026 (国办发明电〔2025〕7号): Spring Festival 15-23 Feb off, Saturday 14 Feb and
  Saturday 28 Feb worked; Mid-Autumn 25-27 Sep off; National Day 1-7 Oct off, Sunday
  20 Sep and Saturday 10 Oct worked.
"""

from datetime import date, timedelta

import chinese_calendar
import pytest

from calendar_days.working_days import (
    HOLIDAY,
    WORKING_DAY,
    Calendar,
    CalendarNotCovered,
    DayOff,
    years_for,
)

OFFICIAL = Calendar(
    holidays={d: n for d, n in chinese_calendar.holidays.items() if d.year in (2025, 2026)},
    working_days={d: n for d, n in chinese_calendar.workdays.items() if d.year in (2025, 2026)},
    years=frozenset({2025, 2026}),
)
# A year entered by hand (test data, not an official schedule): a Wednesday off, and the
# Sunday before it worked.
ENTERED = Calendar(
    holidays={date(2030, 5, 1): "劳动节"},
    working_days={date(2030, 4, 28): "劳动节"},
    years=frozenset({2030}),
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 26), True),  # Sunday, adjusted working day
        (date(2025, 1, 28), False),  # New Year's Eve, holiday
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),  # Saturday, adjusted working day
        (date(2025, 9, 28), True),  # Sunday, adjusted
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),  # Saturday, adjusted
        (date(2026, 2, 14), True),  # Saturday, adjusted
        (date(2026, 2, 23), False),
        (date(2026, 2, 28), True),  # Saturday, adjusted
        (date(2026, 9, 20), True),  # Sunday, adjusted
        (date(2026, 9, 25), False),  # Mid-Autumn (a Friday)
        (date(2026, 10, 10), True),  # Saturday, adjusted
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 9), True),  # an ordinary Monday
    ],
)
def test_the_official_calendar(day, working):
    assert OFFICIAL.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Plain weeks: Monday + 10 working days = the Friday of the next week.
        (date(2026, 3, 2), date(2026, 3, 13)),
        # Friday before Spring Festival 2025: Fri 24 Jan (1), Sun 26 (2), Mon 27 (3), the
        # holiday, Wed 5 Feb - Sat 8 Feb (4-7), Mon 10 - Wed 12 (8-10).
        (date(2025, 1, 24), date(2025, 2, 12)),
        # Friday before National Day 2025: Fri 26 Sep (1), Sun 28 (2), Mon 29, Tue 30
        # (3, 4), the holiday, Thu 9, Fri 10, Sat 11 Oct (5-7), Mon 13 - Wed 15 (8-10).
        (date(2025, 9, 26), date(2025, 10, 15)),
        # Friday before Spring Festival 2026: Fri 13 Feb (1), Sat 14 (2), the holiday,
        # Tue 24 - Fri 27 (3-6), Sat 28 (7), Mon 2 - Wed 4 Mar (8-10).
        (date(2026, 2, 13), date(2026, 3, 4)),
        # Friday before Mid-Autumn and National Day 2026: Fri 18 Sep (1), Sun 20 (2),
        # Mon 21 - Thu 24 (3-6), Mid-Autumn, Mon 28 - Wed 30 (7-9), the holiday, Thu 8 Oct (10).
        (date(2026, 9, 18), date(2026, 10, 8)),
        # Starting on a holiday: the first working day after it is day 1. Thu 9 Oct (1),
        # Fri 10 (2), Sat 11 (3), Mon 13 - Fri 17 (4-8), Mon 20, Tue 21 (9, 10).
        (date(2025, 10, 1), date(2025, 10, 21)),
    ],
)
def test_ten_working_days(start, end):
    assert OFFICIAL.add_working_days(start, 10) == end
    first = start
    while not OFFICIAL.is_working_day(first):
        first += timedelta(days=1)
    assert OFFICIAL.count_working_days(first, end) == 10


def test_an_entered_year_counts_its_holidays_and_adjusted_days():
    # Fri 26 Apr (1), Sun 28 (2, worked), Mon 29, Tue 30 (3, 4), Wed 1 May off, Thu 2 (5).
    assert ENTERED.add_working_days(date(2030, 4, 26), 5) == date(2030, 5, 2)
    assert ENTERED.named_days(date(2030, 4, 26), date(2030, 5, 2)) == [
        DayOff(date(2030, 4, 28), WORKING_DAY, "劳动节"),
        DayOff(date(2030, 5, 1), HOLIDAY, "劳动节"),
    ]
    # Weekdays alone would give Fri 3 May and skip the Sunday.
    assert not Calendar(years=frozenset({2030})).is_working_day(date(2030, 4, 28))


def test_an_extension_counts_from_the_day_after():
    assert OFFICIAL.working_days_after(date(2026, 3, 16), 5) == date(2026, 3, 23)
    assert OFFICIAL.working_days_after(date(2026, 2, 13), 1) == date(2026, 2, 14)  # adjusted


def test_a_year_without_a_schedule_fails_loudly_naming_how_to_enter_it():
    with pytest.raises(CalendarNotCovered) as caught:
        OFFICIAL.add_working_days(date(2026, 12, 21), 10)  # runs into 2027
    assert caught.value.year == 2027
    assert "schedule for 2027 has not been entered" in str(caught.value)
    assert "PUT /api/v1/calendar/years/2027" in str(caught.value)
    with pytest.raises(CalendarNotCovered):
        OFFICIAL.is_working_day(date(2024, 5, 1))
    # A period that stays inside the covered years never looks at the next one.
    assert OFFICIAL.add_working_days(date(2026, 12, 1), 10) == date(2026, 12, 14)


def test_the_years_a_period_may_reach():
    assert list(years_for(date(2026, 3, 2), 10)) == [2026, 2027]
    assert list(years_for(date(2026, 12, 28), 60)) == [2026, 2027]
    assert list(years_for(date(2026, 1, 5), 250)) == [2026, 2027, 2028]


def test_a_period_has_at_least_one_day():
    with pytest.raises(ValueError):
        OFFICIAL.add_working_days(date(2026, 3, 2), 0)
