"""Rules of placements and monthly attendance reports (pure: no database or clock).

Decisions where the documents are silent:
- A month is "YYYY-MM". The days a host may report for a month are the placement's days
  inside that month: from max(start, the 1st) to min(end, the month's last day). More
  days than that is refused on `days_attended`; a month the placement does not touch is
  refused on `month`.
- Attendance is reported after the fact: a month can be reported once its last
  placement day (the month's last day, or the placement's end if earlier) is today or
  before.
- "Insured for the period" (the policy fact `insured_in_period`) means the host's
  insurance covers every placement day of the month, i.e. insured_from <= first
  placement day in the month and insured_to >= the last. Which days of those the intern
  attended is not reported, so all of them must be covered.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from kernel.errors import FieldError

SCHEME = "internship"
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
MAX_TEXT = {"school": 100, "insurance_reference": 60}


@dataclass(frozen=True)
class NewPlacement:
    person_id: int
    school: str
    programme_id: int
    start_date: date
    end_date: date
    insurance_reference: str
    insured_from: date
    insured_to: date


def clean_placement(new: NewPlacement) -> tuple[NewPlacement, list[FieldError]]:
    """Trims text fields and lists every problem (the caller raises them together)."""
    errors: list[FieldError] = []
    texts = {}
    for name, limit in MAX_TEXT.items():
        value = " ".join(str(getattr(new, name)).split())
        if not value:
            errors.append(FieldError(name, "required"))
        elif len(value) > limit:
            errors.append(FieldError(name, f"at most {limit} characters"))
        texts[name] = value
    if new.end_date < new.start_date:
        errors.append(FieldError("end_date", "must not be before start_date"))
    if new.insured_to < new.insured_from:
        errors.append(FieldError("insured_to", "must not be before insured_from"))
    clean = NewPlacement(
        person_id=new.person_id,
        school=texts["school"],
        programme_id=new.programme_id,
        start_date=new.start_date,
        end_date=new.end_date,
        insurance_reference=texts["insurance_reference"],
        insured_from=new.insured_from,
        insured_to=new.insured_to,
    )
    return clean, errors


def parse_month(text: str) -> date | None:
    """The first day of a "YYYY-MM" month, or None."""
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def month_text(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


def days_in_month(first: date) -> int:
    return calendar.monthrange(first.year, first.month)[1]


def placement_days(first: date, start: date, end: date) -> tuple[date, date] | None:
    """The placement's first and last day inside the month, or None if it has none."""
    last = first.replace(day=days_in_month(first))
    since, until = max(first, start), min(last, end)
    return (since, until) if since <= until else None


def insured_in_period(
    first: date, start: date, end: date, insured_from: date, insured_to: date
) -> bool:
    period = placement_days(first, start, end)
    return period is not None and insured_from <= period[0] and period[1] <= insured_to


def check_month(
    month: str, days_attended: int, start: date, end: date, today: date
) -> tuple[date | None, list[FieldError]]:
    """The month's first day and the problems of one report (field, reason)."""
    first = parse_month(month)
    if first is None:
        return None, [FieldError("month", "must be a month written YYYY-MM, e.g. 2026-03")]
    n_days = days_in_month(first)
    if not 1 <= days_attended <= n_days:
        return first, [
            FieldError("days_attended", f"must be 1 to {n_days} (the days of {month_text(first)})")
        ]
    period = placement_days(first, start, end)
    if period is None:
        return first, [
            FieldError(
                "month",
                f"{month_text(first)} is outside the placement ({start.isoformat()} to "
                f"{end.isoformat()})",
            )
        ]
    available = (period[1] - period[0]).days + 1
    if days_attended > available:
        return first, [
            FieldError(
                "days_attended",
                f"{days_attended} days reported, but the placement covers only {available} "
                f"days of {month_text(first)} ({period[0].isoformat()} to "
                f"{period[1].isoformat()}): a day outside the placement cannot be attended",
            )
        ]
    if period[1] > today:
        return first, [
            FieldError(
                "month",
                f"{month_text(first)} can be reported from {period[1].isoformat()}, once the "
                "month (or the placement) has ended",
            )
        ]
    return first, []


def dedupe_key(placement_id: int, first: date) -> str:
    return f"{SCHEME}:{placement_id}:{month_text(first)}"


def month_of(dedupe: str) -> str:
    """The month "YYYY-MM" a claim's dedupe key names."""
    return dedupe.rsplit(":", 1)[1]


def cap_key(person_id: int, programme_id: int) -> str:
    """Per intern per registered programme, whichever host reports the months."""
    return f"{SCHEME}:{person_id}:programme-{programme_id}"


def typed_cap_key(person_id: int, typed_name: str) -> str:
    """The cap key of a placement registered before programmes were: per intern per
    name the host typed. A placement the migration could not map keeps it."""
    return f"{SCHEME}:{person_id}:{typed_name}"


CAP_KEY_PATTERN = re.compile(rf"^{SCHEME}:\d+:programme-(\d+)$")


def programme_of_cap_key(key: str | None) -> int | None:
    """The registered programme a cap key is of (see cap_key); None for any other key,
    e.g. the typed name of a placement the migration could not map."""
    match = CAP_KEY_PATTERN.match(key or "")
    return int(match[1]) if match else None
