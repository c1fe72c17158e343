"""Policy documents: one version of one scheme, as data, validated completely.

A document comes from a TOML file in `subsidies/policies/defaults/` or from an officer
through the API; both go through `parse()`, which names the source, the field and the
problem. Amounts are integers in fen. The scheme decides which parameters apply.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from subsidies.policies import vocabulary
from subsidies.policies.vocabulary import Condition

Fen = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
PositiveFen = Annotated[int, msgspec.Meta(gt=0, le=10**12)]
LevelNo = Annotated[int, msgspec.Meta(ge=1, le=5)]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class InternshipParameters(_Strict):
    monthly_rate_fen: PositiveFen
    max_months: Annotated[int, msgspec.Meta(ge=1, le=24)]
    cap_per_intern_fen: PositiveFen  # per intern per programme, across claims and hosts
    # calendar_days: a partial month pays rate x days attended / days in the month
    # (rounded down to the fen); whole_months: a partial month pays nothing;
    # half_or_full: under 15 days pays half, 15 or more the whole month.
    proration: Literal["calendar_days", "whole_months", "half_or_full"]


class VoucherParameters(_Strict):
    face_value_fen: PositiveFen
    covers_levels: Annotated[list[LevelNo], msgspec.Meta(min_length=1)]
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=3660)]
    per_person_per_year: Annotated[int, msgspec.Meta(ge=1, le=12)] = 1


class SkillLevelParameters(_Strict):
    # Level number ("1".."5") -> amount for reaching it; a level may be left out (pays 0).
    amount_by_level_fen: dict[Literal["1", "2", "3", "4", "5"], Fen]
    cap_per_person_fen: PositiveFen  # across every occupation and claim
    # What an upgrade's difference is taken from: person, the highest level already paid
    # to the person in any occupation (a level at or below it pays nothing); occupation,
    # lower levels paid in the claim's own occupation only. A document that does not
    # name it (skill_level v1, written before the choice existed) was priced per
    # occupation, and reads so for good.
    upgrade_basis: Literal["person", "occupation"] = "occupation"


class Instalment(_Strict):
    months_after_award: Annotated[int, msgspec.Meta(ge=0, le=120)]
    amount_fen: PositiveFen


class LivingSubsidyParameters(_Strict):
    total_fen: PositiveFen
    instalments: Annotated[list[Instalment], msgspec.Meta(min_length=1)]


class IntroductionRewardParameters(_Strict):
    amount_fen: PositiveFen
    # The enterprise brought the person in no more than this many months before the award.
    window_months: Annotated[int, msgspec.Meta(ge=1, le=120)]


class StudioGrantParameters(_Strict):
    amount_by_level_fen: dict[Literal["city", "province", "national"], Fen]


PARAMETERS: dict[str, type[_Strict]] = {
    "internship": InternshipParameters,
    "training_voucher": VoucherParameters,
    "skill_level": SkillLevelParameters,
    "leading_talent_living": LivingSubsidyParameters,
    "leading_talent_introduction": IntroductionRewardParameters,
    "studio_grant": StudioGrantParameters,
}
SCHEMES = tuple(PARAMETERS)
# The schemes whose versions may be `automatic`: those the "policy finds people" scan
# covers (subsidies.skill_levels.scan): people's skill levels, and enterprises' master
# studios (subsidies.studio_grants.proposals). Leading-talent rewards need no
# application either: the appraisal's approval creates their claims.
AUTOMATIC_SCHEMES = ("skill_level", "studio_grant")
# The facts each scheme's claims can be judged on (what its fact loader supplies).
SCHEME_FACTS: dict[str, frozenset[str]] = {
    "internship": frozenset({"insured_in_period", "age", "hukou", "fresh_graduate"}),
    "training_voucher": frozenset({"insured", "insured_months", "hukou", "age", "level"}),
    "skill_level": frozenset(
        {"level", "employed_in_dongguan", "insured", "insured_months", "hukou", "age"}
    ),
    "leading_talent_living": frozenset({"level", "medal", "employed_in_dongguan"}),
    "leading_talent_introduction": frozenset({"employed_in_dongguan"}),
    "studio_grant": frozenset(),
}


class _Document(_Strict):
    scheme: str
    version: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    title_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    title_en: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]  # document cited
    effective_from: date
    payee: Literal["person", "organisation"]
    parameters: dict[str, Any]
    effective_to: date | None = None
    automatic: bool = False  # "policy finds people": the scan proposes entitlements
    budget_note: Annotated[str, msgspec.Meta(max_length=500)] = ""
    conditions: list[dict[str, Any]] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """One validated version of one scheme."""

    scheme: str
    version: int
    title_zh: str
    title_en: str
    source: str
    effective_from: date
    effective_to: date | None
    automatic: bool
    payee: str
    conditions: tuple[Condition, ...]
    parameters: Any  # the scheme's parameter struct
    raw: dict[str, Any]  # the document as given, canonical for storage and comparison

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class PolicyError(ValueError):
    """Everything wrong with one document, each problem naming its field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


# msgspec ends a message with "- at `$.path`", or "- at `key` in `$.path`" for a bad key.
_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<key>key` in `)?\$(?P<path>[^`]*)`)?$", re.S)


def _msgspec_problem(error: msgspec.ValidationError, prefix: str = "") -> str:
    match = _PATH.match(str(error))
    assert match is not None
    path = (prefix + (match["path"] or "")).lstrip(".") or "(document)"
    return f"{path}: {match['message']}" + (" (a key)" if match["key"] else "")


def parse(raw: dict[str, Any], source: str, *, stored: bool = False) -> Policy:
    """Validates a whole document; raises PolicyError naming `source` and each field.
    `stored`: a document read back from the catalogue, which passed when it came in;
    rules added since (AUTOMATIC_SCHEMES) do not make it unreadable."""
    try:
        doc = msgspec.convert(raw, _Document, strict=False)
    except msgspec.ValidationError as error:
        raise PolicyError(source, [_msgspec_problem(error)]) from None
    problems: list[str] = []
    parameters = None
    if doc.scheme not in PARAMETERS:
        problems.append(f"scheme: unknown scheme {doc.scheme!r}; known: {', '.join(SCHEMES)}")
    else:
        try:
            parameters = msgspec.convert(doc.parameters, PARAMETERS[doc.scheme], strict=False)
        except msgspec.ValidationError as error:
            problems.append(_msgspec_problem(error, ".parameters"))
    if (
        not stored
        and doc.automatic
        and doc.scheme in PARAMETERS
        and doc.scheme not in AUTOMATIC_SCHEMES
    ):
        problems.append(
            f"automatic: no scan proposes {doc.scheme} claims; only "
            f"{' and '.join(AUTOMATIC_SCHEMES)} versions can be automatic"
        )
    if doc.effective_to is not None and doc.effective_to < doc.effective_from:
        problems.append("effective_to: must not be before effective_from")
    conditions = []
    for i, item in enumerate(doc.conditions):
        condition, problem = vocabulary.check(item, f"conditions[{i}]")
        if problem:
            problems.append(problem)
        elif condition is not None:
            allowed = SCHEME_FACTS.get(doc.scheme, frozenset())
            if doc.scheme in SCHEME_FACTS and condition.fact not in allowed:
                problems.append(
                    f"conditions[{i}].fact: {doc.scheme} claims cannot be judged on "
                    f"{condition.fact!r}; available: {', '.join(sorted(allowed)) or 'none'}"
                )
            conditions.append(condition)
    problems.extend(_scheme_rules(doc.scheme, parameters))
    if problems:
        raise PolicyError(source, problems)
    return Policy(
        scheme=doc.scheme,
        version=doc.version,
        title_zh=doc.title_zh,
        title_en=doc.title_en,
        source=doc.source,
        effective_from=doc.effective_from,
        effective_to=doc.effective_to,
        automatic=doc.automatic,
        payee=doc.payee,
        conditions=tuple(conditions),
        parameters=parameters,
        raw=msgspec.to_builtins(doc),
    )


def _scheme_rules(scheme: str, p: Any) -> list[str]:
    """Rules across parameters that a type cannot say."""
    if (
        isinstance(p, InternshipParameters)
        and p.monthly_rate_fen * p.max_months < p.cap_per_intern_fen
    ):
        return [
            "parameters.cap_per_intern_fen: larger than monthly_rate_fen x max_months "
            f"({p.monthly_rate_fen * p.max_months}); the cap could never be reached"
        ]
    if isinstance(p, LivingSubsidyParameters):
        total = sum(i.amount_fen for i in p.instalments)
        if total != p.total_fen:
            return [f"parameters.instalments: add up to {total} fen, not total_fen {p.total_fen}"]
        months = [i.months_after_award for i in p.instalments]
        if months != sorted(set(months)):
            return ["parameters.instalments: months_after_award must be increasing"]
    if isinstance(p, SkillLevelParameters) and not p.amount_by_level_fen:
        return ["parameters.amount_by_level_fen: name at least one level"]
    return []


DEFAULTS_DIR = Path(__file__).parent / "defaults"


def load_file(path: Path) -> Policy:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PolicyError(path.name, [f"(file): not valid TOML: {error}"]) from None
    return parse(raw, path.name)


def load_defaults_with_paths(directory: Path = DEFAULTS_DIR) -> list[tuple[Policy, Path]]:
    """Every default document with its file; all problems of all files, then one error."""
    loaded: list[tuple[Policy, Path]] = []
    problems: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            policy = load_file(path)
        except PolicyError as error:
            problems.append(str(error))
            continue
        key = (policy.scheme, policy.version)
        if key in seen:
            problems.append(
                f"{path.name}: version: {policy.scheme} {policy.version} is also {seen[key]}"
            )
        seen[key] = path.name
        loaded.append((policy, path))
    if problems:
        raise PolicyError(str(directory), problems)
    return loaded


def load_defaults(directory: Path = DEFAULTS_DIR) -> list[Policy]:
    return [policy for policy, _ in load_defaults_with_paths(directory)]


def version_for(policies: list[Policy], scheme: str, day: date) -> Policy | None:
    """The version in force on `day`: of those covering it, the latest to take effect
    (then the highest number), so a new version takes over on its date."""
    covering = [p for p in policies if p.scheme == scheme and p.covers(day)]
    return max(covering, key=lambda p: (p.effective_from, p.version), default=None)
