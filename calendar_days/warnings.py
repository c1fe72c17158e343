"""When to warn that next year's schedule is missing (pure). The State Council publishes
it in November; from 1 November (Beijing date) officers and the readiness probe are told
until an admin enters it, so notices do not stop at the turn of the year."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from calendar_days.working_days import ADD_A_YEAR

WARN_FROM_MONTH = 11


def missing_next_year(today: date, covered: Collection[int]) -> list[str]:
    year = today.year + 1
    if today.month < WARN_FROM_MONTH or year in covered:
        return []
    return [
        f"the official holiday schedule for {year} has not been entered: working days in "
        f"{year} cannot be counted (notices reaching {year} are refused); an admin enters it "
        f"from the State Council's notice with {ADD_A_YEAR.format(year=year)}"
    ]
