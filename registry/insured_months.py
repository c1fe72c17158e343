"""Months of Dongguan pension insurance as dated periods (pure).

A period is a run of calendar months (its first and last month, each held as the
first day of the month) and the day it was recorded here. What was known on a day D:
the months up to D's month of the periods recorded on or before D. A period recorded
after D was not known on D, even for months before D. Overlapping periods count each
month once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

MONTH = re.compile(r"(\d{4})-(\d{2})")
EARLIEST_MONTH = date(1950, 1, 1)  # nothing here predates the pension system
SOURCES = ("officer", "import", "legacy")


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # first day of the last month
    recorded_on: date
    source: str = "officer"


def month_of(day: date) -> date:
    return day.replace(day=1)


def parse_month(text: str) -> date | None:
    """`YYYY-MM` as the first day of that month, or None."""
    match = MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_in(first: date, last: date) -> range:
    """Month indexes (year * 12 + month - 1) from `first` to `last`, both included."""
    return range(first.year * 12 + first.month - 1, last.year * 12 + last.month)


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
    """Months up to a date: those known on it, and those recorded only later."""

    months: int  # counted on the date
    recorded_later: int  # months up to the date that were recorded after it
    last_recorded: date | None  # the latest recording on or before it; None: nothing by then


def known_on(periods: Iterable[Period], on: date) -> Known:
    until = on.year * 12 + on.month - 1
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
    )


def total_months(periods: Iterable[Period]) -> int:
    """Every month recorded so far, each once."""
    months: set[int] = set()
    for p in periods:
        months.update(months_in(p.first, p.last))
    return len(months)
