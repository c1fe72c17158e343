"""Working days on the official Chinese calendar (pure: no database, no clock).

The calendar is the State Council's yearly holiday schedule as published in the
`chinesecalendar` library: public holidays are days off, and the adjusted working
weekends (调休上班) are working days. A year the library does not cover raises
CalendarNotCovered: a notice period is never guessed from weekdays alone.

Counting rule (the notice convention used here): the notice runs from its start date;
the start date is the first working day if it is one, otherwise the first working day
after it; the end date is the last of `days` working days, inclusive. So a notice of 10
working days starting on Monday 2026-03-02 ends on Friday 2026-03-13.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

LIBRARY = "chinesecalendar"
MAX_SPAN_DAYS = 400  # no run of working days this short spans more than a year


class CalendarNotCovered(LookupError):
    """The holiday library has no official schedule for the year of `day`."""

    def __init__(self, day: date) -> None:
        self.day = day
        self.year = day.year
        first, last = covered_years()
        super().__init__(
            f"the official holiday schedule for {day.year} is not in {LIBRARY} "
            f"{library_version()} (it covers {first}-{last}); update the library once the "
            "State Council publishes that year's schedule"
        )


def library_version() -> str:
    return getattr(chinese_calendar, "__version__", "?")


def covered_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # chinese_calendar raises it for a year it has no data for
        raise CalendarNotCovered(day) from None


def add_working_days(start: date, days: int) -> date:
    """The last day of a period of `days` working days beginning on `start` (see the
    module docstring); `days` >= 1."""
    if days < 1:
        raise ValueError("a period has at least one working day")
    counted = 0
    day = start
    for _ in range(MAX_SPAN_DAYS * (1 + days // 200)):
        if is_working_day(day):
            counted += 1
            if counted == days:
                return day
        day += timedelta(days=1)
    raise RuntimeError("no working day found in a year: the calendar data is broken")


def working_days_after(day: date, days: int) -> date:
    """The `days`-th working day strictly after `day` (an extension that starts the day
    after a decision)."""
    return add_working_days(day + timedelta(days=1), days)


def count_working_days(first: date, last: date) -> int:
    """Working days from `first` to `last`, both included (0 if last < first)."""
    total = 0
    day = first
    while day <= last:
        total += is_working_day(day)
        day += timedelta(days=1)
    return total
