"""Leading-talent appraisal rules as pure functions (no database, no clock: `today` is
passed in)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from accounts.roles import OrgType
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from registry import occupations
from registry.levels import Level
from reviews import scoring

SUBJECT_TYPE = "leading_talent"  # the review engine's name for an evaluation application
APPLICANT_TYPES = (OrgType.ENTERPRISE, OrgType.TECHNICAL_SCHOOL)

RECOGNITION, EVALUATION = "recognition", "evaluation"
ROUTES = (RECOGNITION, EVALUATION)

# Statuses. Recognition: qualified -> shortlisted -> in_notice -> approved. Evaluation:
# applied -> under_review -> shortlisted -> in_notice -> approved. An objection moves
# in_notice to objected until an officer resolves it.
APPLIED, UNDER_REVIEW, QUALIFIED = "applied", "under_review", "qualified"
SHORTLISTED, IN_NOTICE, OBJECTED = "shortlisted", "in_notice", "objected"
APPROVED, REJECTED, WITHDRAWN = "approved", "rejected", "withdrawn"
STATUSES = (
    APPLIED,
    UNDER_REVIEW,
    QUALIFIED,
    SHORTLISTED,
    IN_NOTICE,
    OBJECTED,
    APPROVED,
    REJECTED,
    WITHDRAWN,
)
CLOSED = (REJECTED, WITHDRAWN)  # everything else is "open" (the unique index says the same)
PENDING_DECISION = (SHORTLISTED, IN_NOTICE, OBJECTED)  # hold a place against the quota
TRANSITIONS: dict[str, tuple[str, ...]] = {
    APPLIED: (UNDER_REVIEW, REJECTED, WITHDRAWN),
    UNDER_REVIEW: (SHORTLISTED, REJECTED, WITHDRAWN),
    QUALIFIED: (SHORTLISTED, REJECTED, WITHDRAWN),
    SHORTLISTED: (IN_NOTICE, REJECTED),
    IN_NOTICE: (OBJECTED, APPROVED, REJECTED),
    OBJECTED: (IN_NOTICE, REJECTED),
}

# The level the person must hold: senior worker (高级工, level 3) or higher (lower number).
MIN_LEVEL = Level.SENIOR_WORKER
LEVEL_REASON = (
    "the person must hold a valid senior worker (高级工, level 3) or higher certificate "
    "issued on or before today"
)
MEDALS = ("gold", "silver", "bronze")
MEDAL_ZH = {"gold": "金牌", "silver": "银牌", "bronze": "铜牌"}
# The WorldSkills Competition (世界技能大赛); national or provincial contests do not count.
WORLDSKILLS_NAMES = ("worldskills competition", "worldskills", "世界技能大赛")
FIRST_WORLDSKILLS = 1950
MEDAL_REASON = (
    "the recognition route needs a WorldSkills Competition (世界技能大赛) gold, silver or "
    "bronze medal"
)

TEXT_MAX = 5_000
LIST_MAX = 50
ITEM_MAX = 300
REASON_MAX = 1_000
TITLE_MAX = 100
POOL_NAME = re.compile(r"[0-9A-Za-z\-_ ]{1,60}")
YEAR_MIN, YEAR_MAX = 2000, 2100
NOTICE_LEAD_DAYS = 60  # a notice starts today or within this many days


# -- quota pools and rounds ------------------------------------------------------------


def validate_pool(name: str, first_year: int, last_year: int, total: int) -> str:
    errors: list[FieldError] = []
    name = name.strip()
    if not POOL_NAME.fullmatch(name):
        errors.append(FieldError("name", "1-60 letters, digits, spaces, '-' or '_'"))
    for f, year in (("first_year", first_year), ("last_year", last_year)):
        if not YEAR_MIN <= year <= YEAR_MAX:
            errors.append(FieldError(f, f"must be from {YEAR_MIN} to {YEAR_MAX}"))
    if last_year < first_year:
        errors.append(FieldError("last_year", "must not be before first_year"))
    if not 1 <= total <= 100_000:
        errors.append(FieldError("total", "must be from 1 to 100000"))
    if errors:
        raise InvalidInput(errors)
    return name


def validate_round(
    year: int,
    title: str,
    opens_on: date,
    closes_on: date,
    quota: int | None,
    pool: dict[str, Any] | None,
) -> str:
    errors: list[FieldError] = []
    title = title.strip()
    if not 2 <= len(title) <= TITLE_MAX:
        errors.append(FieldError("title", f"must be 2 to {TITLE_MAX} characters"))
    if not YEAR_MIN <= year <= YEAR_MAX:
        errors.append(FieldError("year", f"must be from {YEAR_MIN} to {YEAR_MAX}"))
    if opens_on.year != year:
        errors.append(FieldError("opens_on", f"must be in the round's year {year}"))
    if closes_on < opens_on:
        errors.append(FieldError("closes_on", "must not be before opens_on"))
    if quota is not None and not 1 <= quota <= 100_000:
        errors.append(FieldError("quota", "must be from 1 to 100000, or left out"))
    if pool is None:
        errors.append(FieldError("pool_id", f"no quota pool covers {year}: name one"))
    elif not pool["first_year"] <= year <= pool["last_year"]:
        errors.append(
            FieldError(
                "pool_id",
                f"pool {pool['name']} covers {pool['first_year']}-{pool['last_year']}, not {year}",
            )
        )
    if errors:
        raise InvalidInput(errors)
    return title


def ensure_round_open(round_: dict[str, Any], today: date) -> None:
    if not round_["opens_on"] <= today <= round_["closes_on"]:
        raise Conflict(
            f"round {round_['id']} takes applications from {round_['opens_on']} to "
            f"{round_['closes_on']}; today is {today}",
            field="round_id",
        )


def places_left(
    pool_total: int,
    pool_used: int,
    pool_pending: int,
    round_quota: int | None,
    round_approved: int,
    round_pending: int,
) -> int:
    """Places a new shortlist may take: what neither the pool nor the round's own cap
    has approved or holds for applications awaiting their decision."""
    left = pool_total - pool_used - pool_pending
    if round_quota is not None:
        left = min(left, round_quota - round_approved - round_pending)
    return max(left, 0)


# -- applications ----------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    frontline_years: int
    achievements: str
    patents: tuple[str, ...] = ()
    awards: tuple[str, ...] = ()
    apprentices_trained: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "frontline_years": self.frontline_years,
            "achievements": self.achievements,
            "patents": list(self.patents),
            "awards": list(self.awards),
            "apprentices_trained": self.apprentices_trained,
        }


@dataclass(frozen=True)
class Medal:
    competition: str
    year: int
    medal: str


@dataclass(frozen=True)
class NewApplication:
    round_id: int
    person_id: int
    route: str
    occupation_code: str
    occupation_name: str
    medal: Medal | None = None
    evidence: Evidence | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def is_worldskills(competition: str) -> bool:
    return competition.strip().lower() in WORLDSKILLS_NAMES


def validate_application(new: NewApplication, today: date) -> NewApplication:
    """Every problem of the form at once; returns normalised values. (The registry
    checks, level and employment, come after: see precheck_reasons.)"""
    errors: list[FieldError] = []
    code = new.occupation_code.strip()
    if not occupations.is_code(code):
        errors.append(FieldError("occupation_code", occupations.CODE_REASON))
    name = new.occupation_name.strip()
    if not 1 <= len(name) <= occupations.NAME_MAX:
        errors.append(
            FieldError("occupation_name", f"must be 1 to {occupations.NAME_MAX} characters")
        )
    medal, evidence = new.medal, new.evidence
    if new.route not in ROUTES:
        errors.append(FieldError("route", f"must be one of {', '.join(ROUTES)}"))
    elif new.route == RECOGNITION:
        if new.evidence is not None:
            errors.append(FieldError("evidence", "the recognition route rests on the medal"))
        if medal is None:
            errors.append(FieldError("medal", MEDAL_REASON))
        else:
            errors += _medal_errors(medal, today)
            medal = Medal(medal.competition.strip(), medal.year, medal.medal)
    else:
        if medal is not None:
            errors.append(FieldError("medal", "a medallist applies on the recognition route"))
        if evidence is None:
            errors.append(FieldError("evidence", "the evaluation route needs the evidence"))
        else:
            errors += _evidence_errors(evidence)
            evidence = Evidence(
                evidence.frontline_years,
                evidence.achievements.strip(),
                tuple(p.strip() for p in evidence.patents),
                tuple(a.strip() for a in evidence.awards),
                evidence.apprentices_trained,
            )
    if errors:
        raise InvalidInput(errors)
    return NewApplication(new.round_id, new.person_id, new.route, code, name, medal, evidence)


def _medal_errors(medal: Medal, today: date) -> list[FieldError]:
    errors = []
    if not is_worldskills(medal.competition):
        errors.append(FieldError("medal.competition", MEDAL_REASON))
    if medal.medal not in MEDALS:
        errors.append(FieldError("medal.medal", MEDAL_REASON))
    if not FIRST_WORLDSKILLS <= medal.year <= today.year:
        errors.append(FieldError("medal.year", f"must be from {FIRST_WORLDSKILLS} to {today.year}"))
    return errors


def _evidence_errors(e: Evidence) -> list[FieldError]:
    errors = []
    if not 0 <= e.frontline_years <= 60:
        errors.append(FieldError("evidence.frontline_years", "must be from 0 to 60"))
    if not 10 <= len(e.achievements.strip()) <= TEXT_MAX:
        errors.append(FieldError("evidence.achievements", f"must be 10 to {TEXT_MAX} characters"))
    for name, items in (("patents", e.patents), ("awards", e.awards)):
        if len(items) > LIST_MAX:
            errors.append(FieldError(f"evidence.{name}", f"at most {LIST_MAX} entries"))
        for i, item in enumerate(items):
            if not 1 <= len(item.strip()) <= ITEM_MAX:
                errors.append(
                    FieldError(f"evidence.{name}[{i}]", f"must be 1 to {ITEM_MAX} characters")
                )
    if not 0 <= e.apprentices_trained <= 100_000:
        errors.append(FieldError("evidence.apprentices_trained", "must be from 0 to 100000"))
    return errors


@dataclass(frozen=True)
class HeldCertificate:
    id: int
    number: str
    level: int
    occupation_name: str
    status: str
    issued_on: date


def level_basis(certificates: Iterable[HeldCertificate], today: date) -> str | None:
    """The certificate that shows senior worker or higher (the highest level, then the
    oldest), described; None if there is none."""
    held = [
        c
        for c in certificates
        if c.status == "valid" and c.level <= MIN_LEVEL and c.issued_on <= today
    ]
    if not held:
        return None
    best = min(held, key=lambda c: (c.level, c.issued_on, c.id))
    level = Level(best.level)
    return f"certificate {best.number} ({level.en} {level.zh}, {best.occupation_name})"[:200]


def precheck_reasons(
    *,
    basis: str | None,
    applicant_type: str,
    employed_by_applicant: bool,
) -> list[FieldError]:
    """The registry checks, all at once: the level, and that an enterprise applies for
    its own employee. (The medal is checked with the form.)"""
    errors = []
    if basis is None:
        errors.append(FieldError("person_id", LEVEL_REASON))
    if applicant_type == OrgType.ENTERPRISE and not employed_by_applicant:
        errors.append(
            FieldError(
                "person_id",
                "an enterprise applies for its own employee: no current employment of this "
                "person with the enterprise is recorded (POST /api/v1/employments)",
            )
        )
    return errors


def first_status(route: str) -> str:
    """A recognition application that passed the checks is qualified for the notice at
    once; an evaluation application waits for its expert review."""
    return QUALIFIED if route == RECOGNITION else APPLIED


def ensure_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, ()):
        raise Conflict(f"an application that is {current} cannot become {target}", status=current)


def check_reason(reason: str, field_name: str = "reason") -> str:
    text = reason.strip()
    if not 2 <= len(text) <= REASON_MAX:
        raise InvalidInput.single(field_name, f"must be 2 to {REASON_MAX} characters")
    return text


# -- shortlist -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    application_id: int
    route: str
    applied_at: datetime
    medal: str | None = None
    case_id: int | None = None
    final_score: int | None = None  # hundredths
    achievements_score: int | None = None


def rank_candidates(candidates: Iterable[Candidate], min_final_score: int) -> list[Candidate]:
    """The order a shortlist takes candidates in:

    1. Recognition candidates first (a WorldSkills medal qualifies by itself, 认定):
       gold, then silver, then bronze; then the earlier application; then the lower id.
    2. Evaluation candidates whose final score reaches `min_final_score`, in the review
       engine's ranking (reviews.scoring.rank): the higher final score, then the higher
       achievements mean, then the earlier application, then the lower case id.
    Evaluation candidates below the pass mark are left out."""
    pool = list(candidates)
    recognised = sorted(
        (c for c in pool if c.route == RECOGNITION),
        key=lambda c: (MEDALS.index(c.medal or "bronze"), c.applied_at, c.application_id),
    )
    scored = {
        c.case_id: c
        for c in pool
        if c.route == EVALUATION
        and c.case_id is not None
        and c.final_score is not None
        and c.final_score >= min_final_score
    }
    standings = scoring.rank(
        scoring.Standing(c.case_id, c.final_score, c.achievements_score or 0, c.applied_at)  # type: ignore[arg-type]
        for c in scored.values()
    )
    return recognised + [scored[s.case_id] for s in standings]


# -- notice and objections -------------------------------------------------------------


def validate_notice_start(starts_on: date, today: date) -> None:
    if starts_on < today:
        raise InvalidInput.single("starts_on", "a notice cannot start in the past")
    if (starts_on - today).days > NOTICE_LEAD_DAYS:
        raise InvalidInput.single("starts_on", f"must be within {NOTICE_LEAD_DAYS} days from today")


_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}")
OBJECTION_REASON_MIN, OBJECTION_REASON_MAX = 10, 2_000


def validate_objection(contact_name: str, contact: str, reason: str) -> tuple[str, str, str]:
    """Who objects (a name and a phone number or e-mail address to reach them) and why.
    Control characters are refused."""
    errors: list[FieldError] = []
    name, contact, reason = contact_name.strip(), contact.strip(), reason.strip()
    if not 1 <= len(name) <= 50 or _has_control(name):
        errors.append(FieldError("contact_name", "must be 1 to 50 printable characters"))
    if len(contact) > 100 or not (_PHONE.fullmatch(contact) or _EMAIL.fullmatch(contact)):
        errors.append(
            FieldError(
                "contact",
                "a mainland mobile number (11 digits), a landline (0769-12345678) or an "
                "e-mail address",
            )
        )
    if not OBJECTION_REASON_MIN <= len(reason) <= OBJECTION_REASON_MAX or _has_control(
        reason.replace("\n", "").replace("\t", "")
    ):
        errors.append(
            FieldError(
                "reason",
                f"must be {OBJECTION_REASON_MIN} to {OBJECTION_REASON_MAX} printable characters",
            )
        )
    if errors:
        raise InvalidInput(errors)
    return name, contact, reason


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def ensure_in_notice_window(
    status: str, starts_on: date | None, ends_on: date | None, today: date
) -> None:
    """Objections are taken while the application is on the notice (paused or not).
    Anything else answers like an unknown id, so the public endpoint reveals nothing
    about applications that are not on notice."""
    if (
        status not in (IN_NOTICE, OBJECTED)
        or starts_on is None
        or ends_on is None
        or not starts_on <= today <= ends_on
    ):
        raise NotFound(NOT_ON_NOTICE, field="application_id")


NOT_ON_NOTICE = "no application with this id is on public notice today"


def ensure_notice_over(ends_on: date | None, today: date) -> None:
    if ends_on is None or today <= ends_on:
        raise Conflict(
            f"the public notice ends on {ends_on}; approval comes after it, from the next day",
            field="notice_ends_on",
        )


# -- the award and its entitlements ----------------------------------------------------


def award_number(awarded_on: date, application_id: int) -> str:
    """e.g. DGLT-2026-000123: the city, the year, the application (unique)."""
    return f"DGLT-{awarded_on.year}-{application_id:06d}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day
    (2026-01-31 + 1 month = 2026-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def instalment_dates(awarded_on: date, months_after_award: Iterable[int]) -> list[date]:
    return [add_months(awarded_on, m) for m in months_after_award]


def brought_in_within(started_on: date | None, awarded_on: date, window_months: int) -> bool:
    """The enterprise brought the person in within the window: their employment with it
    started on or before the award and no more than `window_months` before it."""
    if started_on is None:
        return False
    return add_months(awarded_on, -window_months) <= started_on <= awarded_on


LIVING_KEY = "leading_talent_living:award:{award}:instalment:{n}"
INTRODUCTION_KEY = "leading_talent_introduction:award:{award}:enterprise:{org}"
