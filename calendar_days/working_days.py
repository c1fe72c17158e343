"""Working days on the official Chinese calendar (pure: no database, no clock).

A `Calendar` holds the State Council's schedules of the years it was loaded for: public
holidays are days off, adjusted working weekends (调休上班) are working days, any other
Monday to Friday is a working day. A day in a year with no complete schedule raises
CalendarNotCovered: a period is never guessed from weekdays alone.

Counting rule (the notice convention used here): a period runs from its start date; the
start date is the first working day if it is one, otherwise the first working day after
it; the end date is the last of `days` working days, inclusive. So a notice of 10
working days starting on Monday 2026-03-02 ends on Friday 2026-03-13.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

HOLIDAY = "holiday"
WORKING_DAY = "working_day"  # an adjusted working weekend day (调休上班)
KINDS = (HOLIDAY, WORKING_DAY)
MAX_SPAN_DAYS = 400  # no run of 200 working days spans more than this
ADD_A_YEAR = "PUT /api/v1/calendar/years/{year} (or POST /api/v1/calendar/years/{year}/file)"


class CalendarNotCovered(LookupError):
    """No complete official schedule has been entered for `year`."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"the official holiday schedule for {year} has not been entered; an admin enters "
            f"it from the State Council's notice with {ADD_A_YEAR.format(year=year)}"
        )


@dataclass(frozen=True)
class DayOff:
    """A date the schedule names: a holiday or an adjusted working day."""

    day: date
    kind: str
    name: str


@dataclass(frozen=True)
class Calendar:
    """`holidays` and `working_days`: date -> the holiday's name (春节); `years`: the
    years whose schedule is complete (only their dates may be counted)."""

    holidays: Mapping[date, str] = field(default_factory=dict)
    working_days: Mapping[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarNotCovered(day.year)
        if day in self.holidays:
            return False
        return day in self.working_days or day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The last day of a period of `days` working days beginning on `start` (see the
        module docstring); `days` >= 1."""
        if days < 1:
            raise ValueError("a period has at least one working day")
        counted = 0
        day = start
        for _ in range(span_days(days)):
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return day
            day += timedelta(days=1)
        raise RuntimeError("no working day found in a year: the calendar data is broken")

    def working_days_after(self, day: date, days: int) -> date:
        """The `days`-th working day strictly after `day` (an extension that starts the
        day after a decision)."""
        return self.add_working_days(day + timedelta(days=1), days)

    def count_working_days(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included (0 if last < first)."""
        total = 0
        day = first
        while day <= last:
            total += self.is_working_day(day)
            day += timedelta(days=1)
        return total

    def named_days(self, first: date, last: date) -> list[DayOff]:
        """The holidays and adjusted working days from `first` to `last`, in date order."""
        named = [DayOff(d, HOLIDAY, n) for d, n in self.holidays.items() if first <= d <= last]
        named += [
            DayOff(d, WORKING_DAY, n) for d, n in self.working_days.items() if first <= d <= last
        ]
        return sorted(named, key=lambda d: d.day)


def span_days(days: int) -> int:
    """Calendar days within which `days` working days always fall."""
    return MAX_SPAN_DAYS * (1 + days // 200)


def years_for(start: date, days: int) -> range:
    """The years a period of `days` working days from `start` may reach: the ones to
    load before counting it."""
    last = start + timedelta(days=span_days(days))
    return range(start.year, min(last.year, start.year + 1 + days // 200) + 1)
