"""Working days on the official calendar (chinesecalendar), checked against the State
Council's published schedules:

- 2025 (国办发明电〔2024〕12号): Spring Festival 28 Jan - 4 Feb off, Sunday 26 Jan and
  Saturday 8 Feb worked; National Day with Mid-Autumn 1-8 Oct off, Sunday 28 Sep and
  Saturday 11 Oct worked.
- 2026 (国办发明电〔2025〕7号): Spring Festival 15-23 Feb off, Saturday 14 Feb and
  Saturday 28 Feb worked; Mid-Autumn 25-27 Sep off; National Day 1-7 Oct off, Sunday
  20 Sep and Saturday 10 Oct worked.
"""

from datetime import date, timedelta

import pytest

from registry.appraisals.working_days import (
    CalendarNotCovered,
    add_working_days,
    count_working_days,
    is_working_day,
    working_days_after,
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
    assert is_working_day(day) is working


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
    assert add_working_days(start, 10) == end
    first = start
    while not is_working_day(first):
        first += timedelta(days=1)
    assert count_working_days(first, end) == 10


def test_an_extension_counts_from_the_day_after():
    assert working_days_after(date(2026, 3, 16), 5) == date(2026, 3, 23)
    assert working_days_after(date(2026, 2, 13), 1) == date(2026, 2, 14)  # adjusted Saturday


def test_a_year_the_library_does_not_cover_fails_loudly():
    with pytest.raises(CalendarNotCovered) as caught:
        add_working_days(date(2026, 12, 21), 10)  # runs into 2027
    assert caught.value.year == 2027
    assert "2027 is not in chinesecalendar" in str(caught.value)
    with pytest.raises(CalendarNotCovered):
        is_working_day(date(2003, 5, 1))


def test_a_period_has_at_least_one_day():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 2), 0)
