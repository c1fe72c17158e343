"""Months of Dongguan pension insurance as dated periods (pure).

A period is a run of calendar months (its first and last month, each held as the
first day of the month) and the day it was recorded here. What was known on a day D:
the months up to D's month of the periods recorded on or before D. A period recorded
after D was not known on D, even for months before D. Overlapping periods count each
month once.

The social-insurance system reports a month's contributions after the month ends and
its file, one export for everyone, is imported monthly. The latest month of any file
imported by D says how far that data reached on D: a month up to it not recorded for
the person is taken as not insured, a later month up to D's month is unknown on D (paid
perhaps, but not reported yet). With no file imported by D, the last UNREPORTED_MONTHS
months (D's month and the two before it) are the unknown ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

MONTH = re.compile(r"(\d{4})-(\d{2})")
EARLIEST_MONTH = date(1950, 1, 1)  # nothing here predates the pension system
SOURCES = ("officer", "import", "legacy")
UNREPORTED_MONTHS = 3  # the date's month and the two before it: one month's lag, one of slip


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # first day of the last month
    recorded_on: date
    source: str = "officer"


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_index(day: date) -> int:
    """Months since year 0: consecutive months have consecutive indexes."""
    return day.year * 12 + day.month - 1


def month_at(index: int) -> date:
    """The month of an index (month_index)."""
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> date | None:
    """`YYYY-MM` as the first day of that month, or None (also for year 0000, which the
    calendar does not have)."""
    match = MONTH.fullmatch(text.strip())
    if match is None or int(match[1]) < 1 or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


def add_months(month: date, count: int) -> date:
    return month_at(month_index(month) + count)


def months_in(first: date, last: date) -> range:
    """Month indexes from `first` to `last`, both included."""
    return range(month_index(first), month_index(last) + 1)


def check_period(first: date, last: date, today: date) -> str | None:
    """Why a period cannot be recorded today, or None."""
    if first < EARLIEST_MONTH:
        return f"must not be before {EARLIEST_MONTH:%Y-%m}"
    if last < first:
        return "the last month must not be before the first"
    if last > month_of(today):
        return "must not be after the current month"
    return None


@dataclass(frozen=True)
class Known:
    """Months up to a date: those known on it, those recorded only later, and the last
    ones not known on it, which may not have been reported yet."""

    months: int  # counted on the date
    recorded_later: int  # months up to the date that were recorded after it
    last_recorded: date | None  # the latest recording on or before it; None: nothing by then
    unreported: tuple[date, ...] = ()  # the months up to the date that may not be reported yet


def known_on(periods: Iterable[Period], on: date, imported_through: date | None = None) -> Known:
    """`imported_through`: the latest month of any monthly file imported by `on`."""
    until = month_index(on)
    if imported_through is None:
        since = until - UNREPORTED_MONTHS + 1
    else:
        since = min(month_index(imported_through), until) + 1
    since = max(since, month_index(EARLIEST_MONTH))
    known: set[int] = set()
    later: set[int] = set()
    last_recorded = None
    for p in periods:
        months = {m for m in months_in(p.first, p.last) if m <= until}
        if p.recorded_on <= on:
            known |= months
            last_recorded = max(last_recorded or p.recorded_on, p.recorded_on)
        else:
            later |= months
    return Known(
        months=len(known),
        recorded_later=len(later - known),
        last_recorded=last_recorded,
        unreported=tuple(month_at(m) for m in range(since, until + 1) if m not in known),
    )


def total_months(periods: Iterable[Period]) -> int:
    """Every month recorded so far, each once."""
    months: set[int] = set()
    for p in periods:
        months.update(months_in(p.first, p.last))
    return len(months)
