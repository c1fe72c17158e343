"""Checking a year's schedule as an admin enters it from the State Council's notice
(pure). The same checks hold for the API's list and for a file's rows; `where(i, column)`
names the place of entry i for the answer (`days[3].date`, `row 5, column date`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from calendar_days.working_days import HOLIDAY, KINDS, WORKING_DAY
from kernel.errors import FieldError

NAME_MAX = 40
SOURCE_MAX = 200
MAX_ENTRIES = 120  # a year has about 30 holidays and 6 adjusted working days
SATURDAY = 5


@dataclass(frozen=True)
class Entry:
    day: date | None  # None: the date was unreadable (already reported)
    kind: str
    name: str


Where = Callable[[int, str], str]


def check_source(source: str, field: str = "source") -> list[FieldError]:
    text = source.strip()
    if not text:
        return [FieldError(field, "name the State Council's notice, e.g. 国办发明电〔2025〕7号")]
    if len(text) > SOURCE_MAX:
        return [FieldError(field, f"at most {SOURCE_MAX} characters")]
    return []


def check_entries(year: int, entries: Sequence[Entry], where: Where) -> list[FieldError]:
    """Every problem of the list, each at its place: dates inside the year, a known kind,
    a name, no date twice (nor both a holiday and a working day), adjusted working days
    on a Saturday or Sunday, and at least one holiday."""
    if len(entries) > MAX_ENTRIES:
        return [FieldError("days", f"at most {MAX_ENTRIES} dates a year")]
    errors: list[FieldError] = []
    first_seen: dict[date, int] = {}
    for i, entry in enumerate(entries):
        if entry.kind not in KINDS:
            errors.append(
                FieldError(where(i, "kind"), f"{entry.kind!r} must be {' or '.join(KINDS)}")
            )
        name = entry.name.strip()
        if not name:
            errors.append(FieldError(where(i, "name"), "name the holiday, e.g. 春节"))
        elif len(name) > NAME_MAX:
            errors.append(FieldError(where(i, "name"), f"at most {NAME_MAX} characters"))
        day = entry.day
        if day is None:
            continue
        if day.year != year:
            errors.append(FieldError(where(i, "date"), f"{day} is not in {year}"))
            continue
        if day in first_seen:
            earlier = entries[first_seen[day]]
            first = where(first_seen[day], "date")
            reason = (
                f"{day} is both a holiday and an adjusted working day (see {first})"
                if {earlier.kind, entry.kind} == {HOLIDAY, WORKING_DAY}
                else f"{day} appears again (first at {first})"
            )
            errors.append(FieldError(where(i, "date"), reason))
            continue
        first_seen[day] = i
        if entry.kind == WORKING_DAY and day.weekday() < SATURDAY:
            errors.append(
                FieldError(
                    where(i, "date"),
                    f"{day} is a weekday; an adjusted working day (调休上班) is a Saturday "
                    "or Sunday",
                )
            )
    if not errors and not any(e.kind == HOLIDAY for e in entries):
        errors.append(FieldError("days", f"the schedule for {year} has no holiday"))
    return errors


def holidays_and_working_days(entries: Sequence[Entry]) -> tuple[dict[date, str], dict[date, str]]:
    """The checked entries split by kind: date -> name."""
    holidays = {e.day: e.name.strip() for e in entries if e.day and e.kind == HOLIDAY}
    working = {e.day: e.name.strip() for e in entries if e.day and e.kind == WORKING_DAY}
    return holidays, working
