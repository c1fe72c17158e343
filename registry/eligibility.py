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
- Only certificates valid now and issued on or before the date count. A revoked
  certificate never counts, even for a date before its revocation: revocation says it
  should not have been relied on.
- The pension-insurance figure is the one last confirmed; the date it was confirmed is
  reported beside it, because a figure confirmed after the date may include later months.
- "No criminal record" is not held by this system (the public security bureau checks
  it); it is reported as unknown, and `eligible` means eligible on the facts held here.

Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from registry.levels import Level

SCHEME = "《东莞市高技能人才入户城镇工作方案》(东府办〔2012〕140号)"
INSURED_MONTHS_REQUIRED = 24
MAX_AGE = 45
FRESH_GRADUATE_YEARS = 2  # graduated this year or in the two before it
TECHNICIAN = int(Level.TECHNICIAN)
SENIOR_WORKER = int(Level.SENIOR_WORKER)


@dataclass(frozen=True)
class PersonFacts:
    birth_date: date
    hukou: str  # local / non_local / unknown
    insured_months: int | None = None
    insured_confirmed_on: date | None = None
    fresh_graduate: bool = False
    graduate_school: str | None = None
    graduate_year: int | None = None


@dataclass(frozen=True)
class CertificateFacts:
    level: int
    issued_on: date
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
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    scheme: str
    on: date
    eligible: bool
    applying_clauses: list[int]
    reason: str
    preconditions: list[Fact]
    clauses: list[Clause]


def age_on(birth: date, on: date) -> int:
    """Age in whole years: a year older on the birthday itself."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def best_certificate(certificates: Iterable[CertificateFacts], on: date) -> CertificateFacts | None:
    """The highest level (lowest number) among certificates that count on `on`;
    of equal levels, the earliest issued."""
    counting = [c for c in certificates if c.status == "valid" and c.issued_on <= on]
    return min(counting, key=lambda c: (c.level, c.issued_on), default=None)


def _level_fact(best: CertificateFacts | None, at_most: int) -> Fact:
    required = Level(at_most)
    note = None
    if best is not None:
        held = Level(best.level)
        note = f"{held.zh} {held.en}, certificate {best.number} issued {best.issued_on}"
        if best.occupation_name:
            note += f" ({best.occupation_name})"
    return Fact(
        name="level_held",
        required=f"level {at_most} ({required.zh} {required.en}) or higher",
        actual=best.level if best else None,
        passed=best is not None and best.level <= at_most,
        note=note or "no valid certificate issued on or before the date",
    )


def _insured_fact(person: PersonFacts, on: date) -> Fact:
    months = person.insured_months
    confirmed = person.insured_confirmed_on
    if months is None:
        note = "not recorded"
    elif confirmed is not None and confirmed > on:
        note = f"confirmed on {confirmed}, after the date: the figure may include later months"
    else:
        note = f"confirmed on {confirmed}"
    return Fact(
        name="insured_months",
        required=f">= {INSURED_MONTHS_REQUIRED} months of Dongguan pension insurance",
        actual=months,
        passed=months is not None and months >= INSURED_MONTHS_REQUIRED,
        note=note,
        as_of=confirmed,
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


def _graduate_facts(person: PersonFacts, on: date) -> list[Fact]:
    first_year = on.year - FRESH_GRADUATE_YEARS
    year = person.graduate_year
    return [
        Fact(
            name="fresh_graduate",
            required="graduate of a Guangdong technical or vocational school",
            actual=person.fresh_graduate,
            passed=person.fresh_graduate,
            note=person.graduate_school,
        ),
        Fact(
            name="graduate_year",
            required=f"{first_year} to {on.year} (fresh: this year or the two before)",
            actual=year,
            passed=person.fresh_graduate and year is not None and first_year <= year <= on.year,
        ),
    ]


def _clause(number: int, title: str, facts: list[Fact]) -> Clause:
    return Clause(number, title, all(f.passed for f in facts), facts)


def _preconditions(person: PersonFacts) -> list[Fact]:
    hukou = person.hukou if person.hukou in ("local", "non_local") else None
    return [
        Fact(
            name="hukou",
            required="non_local",
            actual=person.hukou,
            passed=None if hukou is None else hukou == "non_local",
            note="local-hukou people are not applicants" if hukou == "local" else None,
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
    best = best_certificate(certificates, on)
    clauses = [
        _clause(1, "holds technician or senior technician", [_level_fact(best, TECHNICIAN)]),
        _clause(
            2,
            "holds senior worker or higher, 2 years of Dongguan pension insurance, aged 45 "
            "or younger",
            [_level_fact(best, SENIOR_WORKER), _insured_fact(person, on), _age_fact(person, on)],
        ),
        _clause(
            3,
            "fresh graduate of a Guangdong technical or vocational school holding senior "
            "worker or higher",
            [*_graduate_facts(person, on), _level_fact(best, SENIOR_WORKER)],
        ),
    ]
    met = [c.number for c in clauses if c.passed]
    if person.hukou == "local":
        eligible, reason = (
            False,
            "local hukou: not an applicant (the scheme is for non-local people)",
        )
    elif person.hukou != "non_local":
        eligible, reason = False, "hukou is not recorded: it must be confirmed before deciding"
    elif met:
        eligible = True
        reason = (
            f"meets clause {', '.join(map(str, met))}; the public security bureau still checks "
            "that there is no criminal record"
        )
    else:
        eligible, reason = False, "meets none of the three clauses"
    return Assessment(
        scheme=SCHEME,
        on=on,
        eligible=eligible,
        applying_clauses=met if eligible else [],
        reason=reason,
        preconditions=_preconditions(person),
        clauses=clauses,
    )
