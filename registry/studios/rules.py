"""Master studio rules as pure functions (no database, no clock: `today` is passed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from accounts.roles import OrgType
from kernel.errors import Conflict, FieldError, InvalidInput
from registry import occupations
from registry.levels import Level

# Studios are set up relying on enterprises and schools (DOMAIN.md); training
# institutions host them too. Skill-evaluation organisations judge, they do not host.
HOST_TYPES = (OrgType.ENTERPRISE, OrgType.TECHNICAL_SCHOOL, OrgType.TRAINING_INSTITUTION)

APPLIED, UNDER_REVIEW, ESTABLISHED, REJECTED, REVOKED = (
    "applied",
    "under_review",
    "established",
    "rejected",
    "revoked",
)
STATUSES = (APPLIED, UNDER_REVIEW, ESTABLISHED, REJECTED, REVOKED)
LIVE = (APPLIED, UNDER_REVIEW, ESTABLISHED)  # one live studio per master
TRANSITIONS: dict[str, tuple[str, ...]] = {
    APPLIED: (UNDER_REVIEW, REJECTED),
    UNDER_REVIEW: (ESTABLISHED, REJECTED),
    ESTABLISHED: (REVOKED,),
}
LEVELS = ("city", "province", "national")
MEMBER_ROLES = ("apprentice", "member")
RESULTS = ("pass", "fail")
# The master's certificate must be at technician or above (lower number = higher).
MASTER_LEVEL = Level.TECHNICIAN
PLAN_MIN, PLAN_MAX = 10, 20_000
MEMBERS_MAX = 200
NOTES_MAX = 5_000
REASON_MAX = 1_000
MASTER_REASON = (
    "the master must hold a valid technician or senior technician certificate "
    "(level 2 or 1) or be a recognised leading talent"
)
SUBJECT_TYPE = "master_studio"  # the review engine's name for a studio application


@dataclass(frozen=True)
class Member:
    person_id: int
    role: str


@dataclass(frozen=True)
class NewStudio:
    master_person_id: int
    occupation_code: str
    occupation_name: str
    plan: str
    members: tuple[Member, ...]


def validate_application(new: NewStudio) -> NewStudio:
    """Every problem at once; returns normalised values."""
    errors: list[FieldError] = []
    code = new.occupation_code.strip()
    if not occupations.is_code(code):
        errors.append(FieldError("occupation_code", occupations.CODE_REASON))
    name = new.occupation_name.strip()
    if not 1 <= len(name) <= occupations.NAME_MAX:
        errors.append(
            FieldError("occupation_name", f"must be 1 to {occupations.NAME_MAX} characters")
        )
    plan = new.plan.strip()
    if not PLAN_MIN <= len(plan) <= PLAN_MAX:
        errors.append(FieldError("plan", f"must be {PLAN_MIN} to {PLAN_MAX} characters"))
    if len(new.members) > MEMBERS_MAX:
        errors.append(FieldError("members", f"at most {MEMBERS_MAX} members"))
    seen: set[int] = set()
    for i, member in enumerate(new.members):
        if member.role not in MEMBER_ROLES:
            errors.append(
                FieldError(f"members[{i}].role", f"must be one of {', '.join(MEMBER_ROLES)}")
            )
        if member.person_id == new.master_person_id:
            errors.append(FieldError(f"members[{i}].person_id", "the master is not a member"))
        elif member.person_id in seen:
            errors.append(FieldError(f"members[{i}].person_id", "listed twice"))
        seen.add(member.person_id)
    if errors:
        raise InvalidInput(errors)
    return NewStudio(new.master_person_id, code, name, plan, new.members)


@dataclass(frozen=True)
class HeldCertificate:
    id: int
    number: str
    level: int
    occupation_code: str
    occupation_name: str
    status: str
    issued_on: date


def master_certificate(
    certificates: Iterable[HeldCertificate], occupation_code: str, today: date
) -> HeldCertificate | None:
    """The certificate that qualifies a master: valid, issued by today, at technician or
    above, in any occupation. Preferred: the studio's occupation, then the higher
    level, then the older certificate, so the recorded basis is stable."""
    qualifying = [
        c
        for c in certificates
        if c.status == "valid" and c.level <= MASTER_LEVEL and c.issued_on <= today
    ]
    if not qualifying:
        return None
    return min(
        qualifying,
        key=lambda c: (c.occupation_code != occupation_code, c.level, c.issued_on, c.id),
    )


def describe(certificate: HeldCertificate) -> str:
    level = Level(certificate.level)
    return (
        f"certificate {certificate.number} ({level.en} {level.zh}, "
        f"{certificate.occupation_code} {certificate.occupation_name})"
    )[:200]


def ensure_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, ()):
        raise Conflict(f"a studio that is {current} cannot become {target}", status=current)


def check_reason(reason: str, field: str = "reason") -> list[FieldError]:
    if not 2 <= len(reason.strip()) <= REASON_MAX:
        return [FieldError(field, f"must be 2 to {REASON_MAX} characters")]
    return []


def validate_establishment(level: str, established_on: date, applied_on: date, today: date) -> None:
    errors: list[FieldError] = []
    if level not in LEVELS:
        errors.append(FieldError("level", f"must be one of {', '.join(LEVELS)}"))
    if established_on > today:
        errors.append(FieldError("established_on", "must not be in the future"))
    elif established_on < applied_on:
        errors.append(FieldError("established_on", "must not be before the application"))
    if errors:
        raise InvalidInput(errors)


def validate_assessment(
    year: int, result: str, notes: str, established_on: date, today: date
) -> None:
    """One assessment a year, for years from establishment to the current one."""
    errors: list[FieldError] = []
    if not established_on.year <= year <= today.year:
        errors.append(
            FieldError("year", f"must be from {established_on.year} (established) to {today.year}")
        )
    if result not in RESULTS:
        errors.append(FieldError("result", f"must be one of {', '.join(RESULTS)}"))
    if len(notes) > NOTES_MAX:
        errors.append(FieldError("notes", f"must be at most {NOTES_MAX} characters"))
    if result == "fail" and not notes.strip():
        errors.append(FieldError("notes", "a failed assessment says why"))
    if errors:
        raise InvalidInput(errors)


def validate_revocation(reason: str, revoked_on: date, established_on: date, today: date) -> None:
    errors = check_reason(reason)
    if revoked_on > today:
        errors.append(FieldError("revoked_on", "must not be in the future"))
    elif revoked_on < established_on:
        errors.append(FieldError("revoked_on", "must not be before the studio was established"))
    if errors:
        raise InvalidInput(errors)
