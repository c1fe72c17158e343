"""The appraisal rules as configuration (appraisal_policy.toml beside this file),
validated completely at load: notice length, reviewers, weights, pass mark and the
objection extension rule."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated

import msgspec

from reviews import scoring

POLICY_FILE = Path(__file__).parent / "appraisal_policy.toml"


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A misspelt key in the policy file is an error, not a silently kept default."""


class Weights(_Strict):
    ethics: Annotated[int, msgspec.Meta(ge=0, le=100)]
    knowledge: Annotated[int, msgspec.Meta(ge=0, le=100)]
    ability: Annotated[int, msgspec.Meta(ge=0, le=100)]
    achievements: Annotated[int, msgspec.Meta(ge=0, le=100)]


class Shortlist(_Strict):
    min_final_score: Annotated[int, msgspec.Meta(ge=0, le=10_000)]  # hundredths


class Objections(_Strict):
    extend_on_dismissal: bool
    extension_working_days: Annotated[int, msgspec.Meta(ge=0, le=30)]


class AppraisalPolicy(_Strict):
    notice_working_days: Annotated[int, msgspec.Meta(ge=1, le=60)]
    min_reviewers: Annotated[int, msgspec.Meta(ge=1, le=scoring.MAX_REVIEWERS)]
    weights: Weights
    shortlist: Shortlist
    objections: Objections

    def weights_dict(self) -> dict[str, int]:
        return msgspec.structs.asdict(self.weights)

    def extension_days(self) -> int:
        """Working days a dismissed objection guarantees after its decision (0: none)."""
        o = self.objections
        return o.extension_working_days if o.extend_on_dismissal else 0


def parse(text: str, source: str = POLICY_FILE.name) -> AppraisalPolicy:
    try:
        policy = msgspec.convert(tomllib.loads(text), AppraisalPolicy, strict=True)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as error:
        raise ValueError(f"{source}: {error}") from None
    problems = scoring.check_weights(policy.weights_dict())
    if problems:
        raise ValueError(f"{source}: " + "; ".join(f"{p.field}: {p.reason}" for p in problems))
    return policy


@cache
def current() -> AppraisalPolicy:
    return parse(POLICY_FILE.read_text(encoding="utf-8"))
