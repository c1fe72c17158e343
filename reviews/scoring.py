"""The scoring rules of expert review, as pure functions (no database, no clock).

Exactness: a reviewer gives four integer scores 0-100 and the case carries integer
percent weights adding up to 100, so a reviewer's weighted total in hundredths of a
point is the integer sum of score x weight: it is kept exactly, never as a float.
The final score is a mean of such totals, computed as a Fraction and rounded once,
half-up, to whole hundredths (85.125 -> 85.13; scores are never negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from kernel.errors import FieldError

CRITERIA = ("ethics", "knowledge", "ability", "achievements")
MIN_SCORE, MAX_SCORE = 0, 100
# With this many submitted totals or more, the single highest and the single lowest
# are dropped before the mean (one of each, even when several share the value).
DROP_EXTREMES_FROM = 5
MAX_REVIEWERS = 25


@dataclass(frozen=True)
class Weights:
    """Percent per criterion; the four add up to 100."""

    ethics: int
    knowledge: int
    ability: int
    achievements: int

    def as_dict(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in CRITERIA}


DEFAULT_WEIGHTS = Weights(ethics=20, knowledge=30, ability=30, achievements=20)


def check_weights(weights: Mapping[str, object], field: str = "weights") -> list[FieldError]:
    errors: list[FieldError] = []
    unknown = sorted(set(weights) - set(CRITERIA))
    if unknown:
        errors.append(FieldError(field, f"unknown criteria: {', '.join(unknown)}"))
    values: list[int] = []
    for criterion in CRITERIA:
        value = weights.get(criterion)
        if not _is_int(value) or not 0 <= value <= 100:  # type: ignore[operator]
            errors.append(
                FieldError(f"{field}.{criterion}", "must be a whole percentage from 0 to 100")
            )
        else:
            values.append(value)  # type: ignore[arg-type]
    if len(values) == len(CRITERIA) and sum(values) != 100:
        errors.append(FieldError(field, f"must add up to 100 (they add up to {sum(values)})"))
    return errors


def check_scores(scores: Mapping[str, object]) -> list[FieldError]:
    """Every criterion present, an integer from 0 to 100."""
    errors: list[FieldError] = []
    for criterion in CRITERIA:
        value = scores.get(criterion)
        if not _is_int(value) or not MIN_SCORE <= value <= MAX_SCORE:  # type: ignore[operator]
            errors.append(
                FieldError(criterion, f"must be a whole number from {MIN_SCORE} to {MAX_SCORE}")
            )
    return errors


def check_min_reviewers(value: int, floor: int) -> list[FieldError]:
    """A case may ask for more reviewers than the configured floor, never fewer."""
    if not floor <= value <= MAX_REVIEWERS:
        return [
            FieldError("min_reviewers", f"must be from {floor} (the setting) to {MAX_REVIEWERS}")
        ]
    return []


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def weighted_total(scores: Mapping[str, int], weights: Weights) -> int:
    """Hundredths of a point: sum of score x weight percent (exact)."""
    return sum(scores[c] * getattr(weights, c) for c in CRITERIA)


def counted_totals(totals: Sequence[int]) -> list[int]:
    """The totals the mean is taken over: all of them, or with DROP_EXTREMES_FROM or
    more, all but one highest and one lowest."""
    ordered = sorted(totals)
    if len(ordered) >= DROP_EXTREMES_FROM:
        return ordered[1:-1]
    return ordered


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves away from zero (the values here are never negative)."""
    if value < 0:
        return -round_half_up(-value)
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def final_score(totals: Sequence[int]) -> int:
    """Mean of the counted totals, in hundredths rounded half-up."""
    counted = counted_totals(totals)
    if not counted:
        raise ValueError("a final score needs at least one submitted total")
    return round_half_up(Fraction(sum(counted), len(counted)))


def mean_hundredths(scores: Iterable[int]) -> int:
    """Mean of raw 0-100 scores, in hundredths rounded half-up (a ranking tie-break)."""
    values = list(scores)
    if not values:
        raise ValueError("a mean needs at least one score")
    return round_half_up(Fraction(100 * sum(values), len(values)))


def is_complete(submitted: int, pending: int, min_reviewers: int) -> bool:
    """Enough reviewers have scored and nobody assigned is still to score."""
    return submitted >= min_reviewers and pending == 0


def format_hundredths(value: int | None) -> str | None:
    """8512 -> "85.12" (exact; for display)."""
    if value is None:
        return None
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{sign}{whole}.{cents:02d}"


@dataclass(frozen=True)
class Standing:
    """What the ranking needs to know about one complete case."""

    case_id: int
    final_score: int  # hundredths
    achievements_score: int  # hundredths: mean achievements score of every submission
    applied_at: datetime


def rank(standings: Iterable[Standing]) -> list[Standing]:
    """Best first. Ties on the final score are broken, in order, by:
    1. the higher achievements score (the mean of every submitted achievements score,
       none dropped: what the candidate has done, not how the panel was trimmed);
    2. the earlier application (applied_at): first come, first served;
    3. the lower case id, so the order is total and stable."""
    return sorted(
        standings, key=lambda s: (-s.final_score, -s.achievements_score, s.applied_at, s.case_id)
    )
