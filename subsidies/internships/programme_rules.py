"""Rules of registered internship programmes (pure: no database or clock).

A programme's name is compared without width, spaces, punctuation or case (`name_key`):
hosts once typed the same plan as "百校千人-2026", "百校千人2026" and "百校千人 2026",
and each spelling had a cap of its own. Its rate, months and cap default to the policy
version in force on its start date and may be lowered, never raised above it: the
documents' maximum (9,000 yuan per intern) is the policy's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from kernel.errors import FieldError
from subsidies.policies.documents import InternshipParameters

NAME_MAX = 60
YEAR_MIN, YEAR_MAX = 2000, 2100


def name_key(name: str) -> str:
    """The name as compared: NFKC (full-width to half-width), case-folded, without
    whitespace, punctuation or symbols."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")


@dataclass(frozen=True)
class ProgrammeTerms:
    """What a programme pays: per month, at most so many months, at most so much per
    intern."""

    monthly_rate_fen: int
    max_months: int
    cap_per_intern_fen: int


def policy_terms(parameters: InternshipParameters) -> ProgrammeTerms:
    return ProgrammeTerms(
        parameters.monthly_rate_fen, parameters.max_months, parameters.cap_per_intern_fen
    )


@dataclass(frozen=True)
class ProgrammeFields:
    name: str
    plan_year: int
    start_date: date
    end_date: date
    # None: the policy's
    monthly_rate_fen: int | None = None
    max_months: int | None = None
    cap_per_intern_fen: int | None = None


def check_fields(fields: ProgrammeFields) -> tuple[ProgrammeFields, list[FieldError]]:
    """The name trimmed, and the problems that need no policy."""
    errors: list[FieldError] = []
    name = " ".join(fields.name.split())
    if not name_key(name):
        errors.append(FieldError("name", "required: letters or digits, not only punctuation"))
    elif len(name) > NAME_MAX:
        errors.append(FieldError("name", f"at most {NAME_MAX} characters"))
    if not YEAR_MIN <= fields.plan_year <= YEAR_MAX:
        errors.append(FieldError("plan_year", f"must be between {YEAR_MIN} and {YEAR_MAX}"))
    if fields.end_date < fields.start_date:
        errors.append(FieldError("end_date", "must not be before start_date"))
    clean = ProgrammeFields(
        name=name,
        plan_year=fields.plan_year,
        start_date=fields.start_date,
        end_date=fields.end_date,
        monthly_rate_fen=fields.monthly_rate_fen,
        max_months=fields.max_months,
        cap_per_intern_fen=fields.cap_per_intern_fen,
    )
    return clean, errors


def terms_within_policy(
    fields: ProgrammeFields, policy: ProgrammeTerms, version: int
) -> tuple[ProgrammeTerms, list[FieldError]]:
    """The programme's terms (the policy's where not given) and the problems: each at
    least 1 and at most the policy version's."""
    errors: list[FieldError] = []
    chosen = {}
    for name in ("monthly_rate_fen", "max_months", "cap_per_intern_fen"):
        given, most = getattr(fields, name), getattr(policy, name)
        value = most if given is None else given
        if not 1 <= value <= most:
            errors.append(
                FieldError(name, f"must be 1 to {most}, the internship policy version {version}'s")
            )
        chosen[name] = value
    return ProgrammeTerms(**chosen), errors


def placement_outside(
    start: date, end: date, programme_start: date, programme_end: date
) -> list[FieldError]:
    """A placement lies within its programme's dates."""
    span = f"{programme_start.isoformat()} to {programme_end.isoformat()}"
    errors = []
    if not programme_start <= start <= programme_end:
        errors.append(FieldError("start_date", f"outside the programme ({span})"))
    if not programme_start <= end <= programme_end:
        errors.append(FieldError("end_date", f"outside the programme ({span})"))
    return errors


def beyond_the_limits(
    claims: Iterable[tuple[int, str, int | None]], cap_fen: int, max_months: int
) -> list[int]:
    """Of an intern's live claims in one programme (id, month "YYYY-MM", amount in fen;
    None: not priced yet) in claim order, those past its cap or its months: the order the
    calculator fills the cap and numbers the months in. A month counts once it pays; the
    limit is on calendar months, so a second claim paying a month already counted (two
    placements' reports of one month) is beyond."""
    beyond, total, months = [], 0, set()
    for claim_id, month, amount in claims:
        if not amount or amount <= 0:
            continue
        if month in months:
            beyond.append(claim_id)
            continue
        total += amount
        months.add(month)
        if total > cap_fen or len(months) > max_months:
            beyond.append(claim_id)
    return beyond


def months_paid_already(
    moved: Iterable[tuple[int, str, str]], elsewhere: Iterable[tuple[int, str, str]]
) -> list[int]:
    """The claims to stop where a mapped placement's live claims (id, month, status) and
    the intern's other placements' approved or paid ones share a month. A paid claim
    wins: when the moved claim is paid and none of the others for its month is, the
    others stop (held before they are paid); otherwise the moved claim stops (held, or
    flagged for recovery when it is paid too)."""
    others: dict[str, list[tuple[int, str]]] = {}
    for claim_id, month, status in elsewhere:
        others.setdefault(month, []).append((claim_id, status))
    stop: list[int] = []
    for claim_id, month, status in moved:
        rivals = others.get(month, [])
        if not rivals:
            continue
        if status == "paid" and all(s != "paid" for _, s in rivals):
            stop.extend(i for i, _ in rivals)
        else:
            stop.append(claim_id)
    return stop
