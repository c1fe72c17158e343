"""Eligibility for the 2012 Dongguan high-skill talent household-registration scheme
(东府办〔2012〕140号, 《东莞市高技能人才入户城镇工作方案》, section 二).

DOMAIN.md: a non-local person with no criminal record may apply directly if ANY of
  1. holds technician or senior technician (level 2 or 1);
  2. holds senior worker (level 3) or higher AND has paid Dongguan pension insurance for
     at least 2 years (24 months) AND is 45 or younger;
  3. is a fresh graduate of a Guangdong technical or vocational school holding senior
     worker or higher.

Readings where the scheme gives no figure:
- "45 or younger": age in whole years on the date; a person is 45 up to the day before
  the 46th birthday (someone born on 29 February turns a year older on 1 March).
- "fresh graduate": graduated in the year of the date or in either of the two years
  before it (graduate_year from on.year - 2 to on.year).
- Only certificates valid now, issued on or before the date and recorded here (their
  row's creation, Beijing day) on or before it count. A revoked certificate never
  counts, even for a date before its revocation: revocation says it should not have
  been relied on.
- Pension-insurance months count only as they were known on the date: months up to
  the date's month, of periods recorded on or before it (registry.insured_months). With
  none recorded by then the fact is undetermined. Otherwise a month up to the latest
  month of any monthly file imported by the date, not recorded for the person, is taken
  as not insured; the months after it up to the date's month (with no file imported by
  then, the date's month and the two before it) may not be reported yet: fewer than 24
  known months is undetermined if those unreported months could make 24, else it
  fails. Months recorded later are reported beside it, not counted.
- Hukou and the school's province are read as recorded now: no history of them is
  kept.
- "A Guangdong school": the school is a registered technical or vocational school whose
  province is Guangdong. A school held as free text only, or one without a province,
  leaves the fact undetermined.
- A fact this system cannot tell makes its clause "undetermined", never passed. Overall:
  eligible if a clause passed; else undetermined if a clause (or the hukou) is; else not
  eligible.
- "No criminal record" is not held by this system (the public security bureau checks
  it); it is reported as unknown, and `eligible` means eligible on the facts held here.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from registry.insured_months import Period, known_on
from registry.levels import Level
from registry.provinces import GUANGDONG

SCHEME = "《东莞市高技能人才入户城镇工作方案》(东府办〔2012〕140号)"
INSURED_MONTHS_REQUIRED = 24
REQUIRED_INSURED = (
    f">= {INSURED_MONTHS_REQUIRED} months of Dongguan pension insurance, recorded by the date"
)
UNREPORTED_RULE = (
    "no monthly file imported by then: a month not recorded counts as not insured, except the "
    "date's month and the two before it, which may not be reported yet"
)
IMPORTED_RULE = (
    "a month up to {through:%Y-%m}, the latest month of the monthly files imported by then, "
    "counts as not insured unless recorded; later months may not be reported yet"
)
MAX_AGE = 45
FRESH_GRADUATE_YEARS = 2  # graduated this year or in the two before it
TECHNICIAN = int(Level.TECHNICIAN)
SENIOR_WORKER = int(Level.SENIOR_WORKER)
SCHOOL_TYPES = ("technical_school", "vocational_school")

AS_RECORDED_NOW = "as recorded now: no history is kept"  # hukou, a school's province

PASSED, FAILED, UNDETERMINED = "passed", "failed", "undetermined"
ELIGIBLE, NOT_ELIGIBLE = "eligible", "not_eligible"


@dataclass(frozen=True)
class School:
    """The registered organisation a graduate is linked to."""

    name: str
    org_type: str
    province: str | None


@dataclass(frozen=True)
class PersonFacts:
    birth_date: date
    hukou: str  # local / non_local / unknown
    insured_periods: tuple[Period, ...] = ()
    fresh_graduate: bool = False
    graduate_school: str | None = None  # as written
    school: School | None = None  # the linked organisation, if any
    graduate_year: int | None = None
    # The latest month of any monthly insurance file imported by the assessed date: the
    # file is one export for everyone, so it says how far the data reached then.
    imported_through: date | None = None


@dataclass(frozen=True)
class CertificateFacts:
    level: int
    issued_on: date
    recorded_on: date  # the Beijing day the certificate was registered here
    status: str = "valid"  # valid / revoked
    number: str = ""
    occupation_name: str = ""


@dataclass(frozen=True)
class Fact:
    name: str
    required: str
    actual: str | int | bool | None
    passed: bool | None  # None: this system cannot tell
    note: str | None = None
    as_of: date | None = None  # when the actual figure was last confirmed


@dataclass(frozen=True)
class Clause:
    number: int
    title: str
    passed: bool
    state: str  # passed / failed / undetermined
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class Missing:
    """A fact not known for the date, and what would settle it."""

    clause: int | None  # None: a precondition
    fact: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    scheme: str
    on: date
    eligible: bool
    state: str  # eligible / not_eligible / undetermined
    applying_clauses: list[int]
    reason: str
    preconditions: list[Fact]
    clauses: list[Clause]
    missing: list[Missing] = field(default_factory=list)


def age_on(birth: date, on: date) -> int:
    """Age in whole years: a year older on the birthday itself."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def best_certificate(certificates: Iterable[CertificateFacts], on: date) -> CertificateFacts | None:
    """The highest level (lowest number) among certificates that count on `on`;
    of equal levels, the earliest issued."""
    counting = [
        c for c in certificates if c.status == "valid" and c.issued_on <= on and c.recorded_on <= on
    ]
    return min(counting, key=lambda c: (c.level, c.issued_on), default=None)


def _recorded_later(certificates: Iterable[CertificateFacts], on: date) -> int:
    """Valid certificates issued by `on` but registered here after it."""
    return sum(c.status == "valid" and c.issued_on <= on < c.recorded_on for c in certificates)


def _level_fact(best: CertificateFacts | None, at_most: int, recorded_later: int) -> Fact:
    required = Level(at_most)
    note = None
    if best is not None:
        held = Level(best.level)
        note = f"{held.zh} {held.en}, certificate {best.number} issued {best.issued_on}"
        if best.occupation_name:
            note += f" ({best.occupation_name})"
    note = note or "no valid certificate issued and recorded on or before the date"
    if recorded_later:
        note += f"; {recorded_later} issued by the date recorded after it, not counted"
    return Fact(
        name="level_held",
        required=f"level {at_most} ({required.zh} {required.en}) or higher",
        actual=best.level if best else None,
        passed=best is not None and best.level <= at_most,
        note=note,
    )


def _insured_fact(person: PersonFacts, on: date) -> Fact:
    known = known_on(person.insured_periods, on, person.imported_through)
    through = person.imported_through
    rule = UNREPORTED_RULE if through is None else IMPORTED_RULE.format(through=through)
    later = (
        f"; {known.recorded_later} months up to the date were recorded after it and are not counted"
        if known.recorded_later
        else ""
    )
    if known.last_recorded is None:
        return Fact(
            name="insured_months",
            required=REQUIRED_INSURED,
            actual=0,
            passed=None,
            note=f"no insured months recorded on or before {on}{later}",
        )
    note = f"{known.months} months known on {on}, last recorded {known.last_recorded}"
    short = INSURED_MONTHS_REQUIRED - known.months
    unreported = ", ".join(f"{m:%Y-%m}" for m in known.unreported) or "none"
    if short <= 0:
        passed = True
    elif short <= len(known.unreported):
        passed = None
        note += (
            f"; {short} short of {INSURED_MONTHS_REQUIRED}, which the months not reported by "
            f"then ({unreported}) could make up ({rule})"
        )
    else:
        passed = False
        note += (
            f"; {short} short of {INSURED_MONTHS_REQUIRED}, more than the months not reported "
            f"by then ({unreported}) could make up ({rule})"
        )
    return Fact(
        name="insured_months",
        required=REQUIRED_INSURED,
        actual=known.months,
        passed=passed,
        note=note + later,
        as_of=known.last_recorded,
    )


def _age_fact(person: PersonFacts, on: date) -> Fact:
    age = age_on(person.birth_date, on)
    return Fact(
        name="age",
        required=f"<= {MAX_AGE} years on the date",
        actual=age,
        passed=age <= MAX_AGE,
        note=f"born {person.birth_date}",
    )


def _school_fact(person: PersonFacts) -> Fact:
    required = f"a technical or vocational school in {GUANGDONG}, registered here"
    school = person.school
    if school is None:
        written = person.graduate_school
        return Fact(
            name="graduate_school",
            required=required,
            actual=written,
            passed=None,
            note="held as text only: link the registered school to tell its province"
            if written
            else "not recorded",
        )
    if school.org_type not in SCHOOL_TYPES:
        passed, note = False, f"{school.name} is a {school.org_type}, not a school"
    elif school.province is None:
        passed, note = None, f"the province of {school.name} is not recorded"
    else:
        passed = school.province == GUANGDONG
        note = f"{school.name}, {school.province} ({AS_RECORDED_NOW})"
    return Fact(
        name="graduate_school", required=required, actual=school.name, passed=passed, note=note
    )


def _graduate_facts(person: PersonFacts, on: date) -> list[Fact]:
    first_year = on.year - FRESH_GRADUATE_YEARS
    year = person.graduate_year
    return [
        Fact(
            name="fresh_graduate",
            required="graduate of a technical or vocational school",
            actual=person.fresh_graduate,
            passed=person.fresh_graduate,
            note=person.graduate_school,
        ),
        _school_fact(person),
        Fact(
            name="graduate_year",
            required=f"{first_year} to {on.year} (fresh: this year or the two before)",
            actual=year,
            passed=person.fresh_graduate and year is not None and first_year <= year <= on.year,
        ),
    ]


def state_of(facts: list[Fact]) -> str:
    """Failed if a fact failed; else undetermined if one cannot be told; else passed."""
    if any(f.passed is False for f in facts):
        return FAILED
    if any(f.passed is None for f in facts):
        return UNDETERMINED
    return PASSED


def _clause(number: int, title: str, facts: list[Fact]) -> Clause:
    state = state_of(facts)
    return Clause(number, title, state == PASSED, state, facts)


def _preconditions(person: PersonFacts) -> list[Fact]:
    hukou = person.hukou if person.hukou in ("local", "non_local") else None
    note = None if hukou is None else AS_RECORDED_NOW
    if hukou == "local":
        note = f"local-hukou people are not applicants; {note}"
    return [
        Fact(
            name="hukou",
            required="non_local",
            actual=person.hukou,
            passed=None if hukou is None else hukou == "non_local",
            note=note,
        ),
        Fact(
            name="no_criminal_record",
            required="no criminal record",
            actual=None,
            passed=None,
            note="not held by this system: checked by the public security bureau "
            "(无违法犯罪和参加国家禁止的组织或活动记录)",
        ),
    ]


def assess(person: PersonFacts, certificates: Iterable[CertificateFacts], on: date) -> Assessment:
    certificates = list(certificates)
    best = best_certificate(certificates, on)
    late = _recorded_later(certificates, on)
    clauses = [
        _clause(1, "holds technician or senior technician", [_level_fact(best, TECHNICIAN, late)]),
        _clause(
            2,
            "holds senior worker or higher, 2 years of Dongguan pension insurance, aged 45 "
            "or younger",
            [
                _level_fact(best, SENIOR_WORKER, late),
                _insured_fact(person, on),
                _age_fact(person, on),
            ],
        ),
        _clause(
            3,
            "fresh graduate of a Guangdong technical or vocational school holding senior "
            "worker or higher",
            [*_graduate_facts(person, on), _level_fact(best, SENIOR_WORKER, late)],
        ),
    ]
    met = [c.number for c in clauses if c.state == PASSED]
    open_clauses = [c.number for c in clauses if c.state == UNDETERMINED]
    if person.hukou == "local":
        state, reason = (
            NOT_ELIGIBLE,
            "local hukou: not an applicant (the scheme is for non-local people)",
        )
    elif person.hukou != "non_local":
        state = NOT_ELIGIBLE if not (met or open_clauses) else UNDETERMINED
        reason = "hukou is not recorded: it must be confirmed before deciding"
    elif met:
        state = ELIGIBLE
        reason = (
            f"meets clause {', '.join(map(str, met))}; the public security bureau still checks "
            "that there is no criminal record"
        )
    elif open_clauses:
        state = UNDETERMINED
        reason = (
            f"clause {', '.join(map(str, open_clauses))} cannot be decided on the facts known "
            f"on {on}; see missing"
        )
    else:
        state, reason = NOT_ELIGIBLE, "meets none of the three clauses"
    preconditions = _preconditions(person)
    missing = [
        Missing(None, f.name, f.note or "not recorded")
        for f in preconditions
        if f.passed is None and f.name != "no_criminal_record"
    ]
    missing += [
        Missing(c.number, f.name, f.note or "not recorded")
        for c in clauses
        if c.state == UNDETERMINED
        for f in c.facts
        if f.passed is None
    ]
    return Assessment(
        scheme=SCHEME,
        on=on,
        eligible=state == ELIGIBLE,
        state=state,
        applying_clauses=met if state == ELIGIBLE else [],
        reason=reason,
        preconditions=preconditions,
        clauses=clauses,
        missing=missing if state == UNDETERMINED else [],
    )
