"""The voucher rules, pure (no database, clock or I/O): validity dates, who may get a
voucher, what a redemption must satisfy, and money formatting for traces.

Decisions where the policy documents are silent:
- Validity: a voucher issued on day D with the policy's `valid_days` = N can be
  redeemed up to and including D + N (`expires_on`); on D + N + 1 it is expired. The
  day that counts is the day of the redemption request (Beijing), not the course
  start: enrolment is what the voucher pays for, and a course may start later.
- A course that started before the voucher was issued cannot be paid with it.
- Insured in Dongguan (the scheme's precondition) on day D: the person's Dongguan
  pension insurance months are recorded as more than 0 and confirmed, OR an employer
  reported an insured employment that covers D (started on or before D, not ended
  before D). The policy's own conditions (insured, insured months, hukou, age, level)
  are evaluated on top of that.
- One voucher per person per calendar year of issue, or the policy's
  `per_person_per_year`; a cancelled voucher keeps its place in that count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from registry.levels import Level
from subsidies.policies.vocabulary import Condition, evaluate

ISSUED = "issued"
REDEEMED = "redeemed"
CANCELLED = "cancelled"
EXPIRED = "expired"  # never stored: an issued voucher past its expiry day
STORED_STATUSES = (ISSUED, REDEEMED, CANCELLED)

NOT_INSURED = (
    "not insured in Dongguan: no confirmed months of Dongguan pension insurance and no "
    "insured employment reported for the issue day"
)


def expires_on(issued_on: date, valid_days: int) -> date:
    """The last day the voucher can be redeemed."""
    return issued_on + timedelta(days=valid_days)


def shown_status(status: str, expires: date, today: date) -> str:
    """What the voucher is today: an issued voucher past its last day is expired."""
    return EXPIRED if status == ISSUED and today > expires else status


def covers(levels: list[int] | tuple[int, ...], level: int) -> bool:
    return level in levels


def levels_text(levels: list[int] | tuple[int, ...]) -> str:
    return ", ".join(f"{lv} ({Level(lv).zh} {Level(lv).en})" for lv in levels)


def parse_levels(text: str) -> tuple[int, ...]:
    """The stored form "5,4,3" back to levels."""
    return tuple(int(part) for part in text.split(",") if part)


def store_levels(levels: list[int] | tuple[int, ...]) -> str:
    return ",".join(str(level) for level in levels)


def next_ordinal(held_this_year: int, per_person_per_year: int) -> int | None:
    """The place the next voucher takes in the person's year, or None at the limit."""
    return held_this_year + 1 if held_this_year < per_person_per_year else None


@dataclass(frozen=True)
class Refusal:
    field: str
    reason: str
    conflict: bool  # True: the voucher's state refuses it (409); False: the request (400)


def redemption_refusal(
    *,
    status: str,
    issued_on: date,
    expires: date,
    covers_levels: tuple[int, ...],
    today: date,
    course_level: int,
    course_start: date,
    id_matches: bool,
    redeemed_on: date | None = None,
) -> Refusal | None:
    """Why this redemption cannot happen, or None. The holder's ID is checked first:
    a mistyped number must not reveal anything about someone else's voucher."""
    if not id_matches:
        return Refusal("id_number", "does not match the holder of this voucher", False)
    if status == CANCELLED:
        return Refusal("number", "this voucher was cancelled", True)
    if status == REDEEMED:
        when = f" on {redeemed_on.isoformat()}" if redeemed_on else ""
        return Refusal("number", f"this voucher was already redeemed{when}; it is used once", True)
    if today > expires:
        return Refusal(
            "number", f"this voucher expired: its last day was {expires.isoformat()}", True
        )
    if not covers(covers_levels, course_level):
        return Refusal(
            "course_level",
            f"the voucher covers levels {levels_text(covers_levels)}, not {course_level}",
            False,
        )
    if course_start < issued_on:
        return Refusal(
            "course_start",
            f"the course started before the voucher was issued ({issued_on.isoformat()})",
            False,
        )
    return None


# -- eligibility ---------------------------------------------------------------------


def ages_on(birth_dates: pd.Series, on: date) -> np.ndarray:
    """Whole years on `on`, a year older on the birthday itself (vectorised)."""
    births = pd.to_datetime(birth_dates)
    before_birthday = (births.dt.month * 100 + births.dt.day).to_numpy() > on.month * 100 + on.day
    return on.year - births.dt.year.to_numpy() - before_birthday.astype(np.int64)


def insured_flags(
    insured_months: pd.Series, confirmed_on: pd.Series, insured_employment: pd.Series
) -> np.ndarray:
    """The scheme's precondition (see the module docstring), vectorised."""
    months = pd.to_numeric(insured_months, errors="coerce")
    by_months = (months.fillna(0).to_numpy() > 0) & confirmed_on.notna().to_numpy()
    return by_months | insured_employment.fillna(False).to_numpy(dtype=bool)


def eligible(facts: pd.DataFrame, conditions: tuple[Condition, ...]) -> np.ndarray:
    """Who may get a voucher: insured in Dongguan and every policy condition met."""
    insured = facts["insured"].fillna(False).to_numpy(dtype=bool)
    return evaluate(conditions, facts)["eligible"].to_numpy() & insured


def refusal_reasons(facts: pd.DataFrame, conditions: tuple[Condition, ...]) -> list[str]:
    """Why the person in the one-row frame `facts` may not get a voucher (empty: they
    may): the `insured` precondition first, then each policy condition that fails."""
    checked = evaluate(conditions, facts)
    insured = bool(facts["insured"].fillna(False).iat[0])
    reasons = [] if insured else [NOT_INSURED]
    for i, condition in enumerate(conditions):
        if condition.fact == "insured" and not insured:
            continue  # said already
        if not checked[f"c{i}"].iat[0]:
            _, en = condition.describe()
            reasons.append(
                f"the policy requires {en} (here: {_actual(facts[condition.fact].iat[0])})"
            )
    return reasons


def _actual(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


# -- money ---------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """1,000 or 1,000.50: fen shown as yuan with thousands separators, exact."""
    whole, part = divmod(int(fen), 100)
    return f"{whole:,}" if part == 0 else f"{whole:,}.{part:02d}"
