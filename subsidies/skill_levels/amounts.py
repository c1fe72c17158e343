"""The skill-level talent subsidy ("莞能提升"), as a pure vectorised calculation.

The rules (issue 4), and how this module reads them where the issue is terse:

- Reaching a level while employed (and insured) in Dongguan pays the policy's amount for
  that level (`amount_by_level_fen`). The policy's conditions (employed_in_dongguan,
  insured, level at least ...) are evaluated here too, so an ineligible claim pays 0 and
  takes nothing from the difference or the cap of the person's other claims.
- Once per person per level: the claim's dedupe key is `skill_level:{person}:{level}`,
  ACROSS occupations. A person already paid for senior worker as a welder is not paid for
  senior worker again as an electrician; the unique index on live dedupe keys refuses the
  second claim. (A key per person+occupation+level would pay the same level twice.)
- The difference rule is per person AND occupation: a level reached later in the same
  occupation pays amount(level) - what claims for LOWER levels of that occupation already
  hold (statuses calculated/approved/on_hold/paid, see facts.py), floored at 0. Reaching
  technician as a welder after 3,000 for senior worker as a welder pays 5,000; reaching
  technician as an electrician after senior worker as a welder pays the full 8,000 (no
  lower level was paid in that occupation). Claims for lower levels of the same person
  and occupation in the SAME run count too (lowest level first), so a run holding both
  the senior-worker and the technician claim pays 3,000 + 5,000, never 3,000 + 8,000.
  So does a lower level whose claim is still pending (proposed or submitted, e.g. found
  by the same scan but confirmed later): it counts for its policy amount, since its own
  calculation will pay the difference below it. Without this, calculating the
  technician claim first would pay 8,000 and then 3,000 more. The price: if that
  pending claim is later rejected, the higher level was reduced by an amount never paid;
  the trace says "being claimed", and an officer can see it.
- The cap (`cap_per_person_fen`, 50,000 yuan) holds across everything the person is
  paid under this scheme: cap key `skill_level:{person}`, filled in the row order the
  run gives (claim id) by subsidies.calculators.caps.apply_cap, after what other claims
  of the person already hold (`already_fen`, added by the run).

All amounts are integers in fen; nothing is divided, so nothing is rounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from registry.levels import Level
from subsidies.calculators.caps import apply_cap
from subsidies.policies import vocabulary
from subsidies.policies.documents import Policy, SkillLevelParameters

SCHEME = "skill_level"
# Live claims whose amount counts as "already paid" for a lower level (they have one).
PAID_STATUSES = ("calculated", "approved", "on_hold", "paid")
# Live claims with no amount yet: a lower level among them counts for its policy amount.
PENDING_STATUSES = ("proposed", "submitted")


def dedupe_key(person_id: int, level: int) -> str:
    """Once per person per level, across occupations."""
    return f"{SCHEME}:{person_id}:{level}"


def cap_key(person_id: int) -> str:
    return f"{SCHEME}:{person_id}"


def paid_levels(parameters: SkillLevelParameters) -> list[int]:
    """The levels the policy pays anything for, lowest level (highest number) first."""
    return sorted(
        (int(k) for k, v in parameters.amount_by_level_fen.items() if v > 0), reverse=True
    )


def yuan(fen: int) -> str:
    """8,000 for whole yuan, 8,000.50 otherwise (exact: integer division)."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def _level_names(level: float) -> tuple[str, str]:
    if level != level or not 1 <= level <= 5:  # NaN or out of range
        return "未知等级", "unknown level"
    named = Level(int(level))
    return named.zh, named.en


def _in_batch_difference(
    base: np.ndarray,
    lower_db: np.ndarray,
    lower_db_level: np.ndarray,
    pending_fen: np.ndarray,
    pending_level: np.ndarray,
    person: np.ndarray,
    occupation: np.ndarray,
    level: np.ndarray,
    counted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the amount before the cap, what lower levels of the same person and
    occupation count for, the highest such level (NaN if none), and whether that figure
    is a pending claim's.

    Lower levels count for the larger of (a) what stored claims hold plus what this run
    gives lower-level rows, and (b) the policy amount of the highest lower level whose
    claim is still pending (proposed or submitted, in no run yet): its own amount will be
    the difference below it, so the two together come to (b).

    Rows of one person+occupation are taken lowest level first; rank by rank, each rank
    is one vectorised step (a group has at most one row per rank, levels being unique
    per person among live claims, so there are at most five steps in practice)."""
    n = len(base)
    difference = np.zeros(n, dtype=np.int64)
    lower_total = np.maximum(lower_db, pending_fen).astype(np.int64)
    pending_used = pending_fen > lower_db
    lower_level = np.where(pending_used, pending_level, lower_db_level).astype(float)
    idx = np.flatnonzero(counted)
    if len(idx) == 0:
        return difference, lower_total, lower_level, pending_used
    frame = pd.DataFrame(
        {"row": idx, "person": person[idx], "occupation": occupation[idx], "level": level[idx]}
    )
    # Lowest level first = highest level number first; ties (should not happen) by row.
    frame = frame.sort_values(
        ["person", "occupation", "level", "row"], ascending=[True, True, False, True]
    )
    groups = frame.groupby(["person", "occupation"], sort=False, dropna=False).ngroup().to_numpy()
    rank = frame.groupby(["person", "occupation"], sort=False, dropna=False).cumcount().to_numpy()
    rows = frame["row"].to_numpy()
    paid_in_run = np.zeros(groups.max() + 1, dtype=np.int64)
    level_in_run = np.full(groups.max() + 1, np.nan)
    for r in range(int(rank.max()) + 1):
        at = rank == r
        g, rr = groups[at], rows[at]
        paid = lower_db[rr] + paid_in_run[g]
        pending_used[rr] = pending_fen[rr] > paid
        lower_total[rr] = np.maximum(paid, pending_fen[rr])
        lower_level[rr] = np.where(
            pending_used[rr], pending_level[rr], np.fmin(lower_db_level[rr], level_in_run[g])
        )
        difference[rr] = np.maximum(base[rr] - lower_total[rr], 0)
        paid_in_run[g] += difference[rr]
        level_in_run[g] = np.where(difference[rr] > 0, level[rr], level_in_run[g])
    return difference, lower_total, lower_level, pending_used


def calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """`inputs` (one row per claim, see facts.py): person_id, occupation_code, level
    (NaN when unknown), certificate_valid, lower_paid_fen, lower_paid_level,
    lower_pending_level, cap_key,
    already_fen (from the run; 0 if absent) and the condition facts. Returns amount_fen
    (int64) and trace (list of {zh, en}) indexed like `inputs`."""
    parameters = policy.parameters
    assert isinstance(parameters, SkillLevelParameters)
    n = len(inputs)
    if n == 0:
        return pd.DataFrame(
            {"amount_fen": pd.Series([], dtype=np.int64), "trace": []}, index=inputs.index
        )

    by_level = np.zeros(7, dtype=np.int64)  # index 0 and 6: unknown level, pays nothing
    for key, fen in parameters.amount_by_level_fen.items():
        by_level[int(key)] = fen
    level = pd.to_numeric(inputs["level"], errors="coerce").to_numpy(dtype=float)
    level_index = np.where(np.isnan(level), 0, np.clip(level, 0, 6)).astype(np.int64)
    valid = inputs["certificate_valid"].fillna(False).to_numpy(dtype=bool)
    eligible = vocabulary.evaluate(policy.conditions, inputs)["eligible"].to_numpy() & valid
    base = np.where(eligible, by_level[level_index], 0).astype(np.int64)

    lower_db = inputs["lower_paid_fen"].fillna(0).to_numpy(dtype=np.int64)
    lower_db_level = pd.to_numeric(inputs["lower_paid_level"], errors="coerce").to_numpy(
        dtype=float
    )
    pending_level = pd.to_numeric(inputs["lower_pending_level"], errors="coerce").to_numpy(
        dtype=float
    )
    pending_index = np.where(np.isnan(pending_level), 0, np.clip(pending_level, 0, 6))
    pending_fen = by_level[pending_index.astype(np.int64)]
    person = inputs["person_id"].to_numpy()
    occupation = inputs["occupation_code"].astype(object).to_numpy()
    difference, lower_total, lower_level, pending_used = _in_batch_difference(
        base,
        lower_db,
        lower_db_level,
        pending_fen,
        pending_level,
        person,
        occupation,
        level,
        eligible,
    )

    already = (
        inputs["already_fen"].fillna(0).to_numpy(dtype=np.int64)
        if "already_fen" in inputs
        else np.zeros(n, dtype=np.int64)
    )
    cap = parameters.cap_per_person_fen
    # Rows that pay nothing still pass through the cap: they take 0 from it.
    amount, held = apply_cap(difference, inputs["cap_key"].astype(object).to_numpy(), already, cap)

    trace = [
        _trace(*row, cap)
        for row in zip(
            valid.tolist(),
            eligible.tolist(),
            level.tolist(),
            by_level[level_index].tolist(),
            lower_total.tolist(),
            lower_level.tolist(),
            pending_used.tolist(),
            difference.tolist(),
            held.tolist(),
            amount.tolist(),
            strict=True,
        )
    ]
    return pd.DataFrame({"amount_fen": amount.astype(np.int64), "trace": trace}, index=inputs.index)


def _trace(
    valid: bool,
    eligible: bool,
    level: float,
    base: int,
    lower: int,
    lower_level: float,
    pending: bool,
    difference: int,
    held: int,
    amount: int,
    cap: int,
) -> list[dict[str, Any]]:
    if not valid:
        return [
            {
                "zh": "证书无效（已撤销、不存在或不属于本人），不予资助",
                "en": "the certificate is not valid (revoked, missing or another person's): "
                "nothing is paid",
            }
        ]
    if not eligible:
        return [
            {"zh": "不符合政策条件，不予资助", "en": "policy conditions not met: nothing is paid"}
        ]
    zh, en = _level_names(level)
    steps = [{"zh": f"{zh} {yuan(base)} 元", "en": f"{en} {yuan(base)} yuan"}]
    if lower > 0 and pending:
        lower_zh, lower_en = _level_names(lower_level)
        steps.append(
            {
                "zh": f"同工种{lower_zh}申领在办，按 {yuan(lower)} 元计，"
                f"差额 {yuan(difference)} 元",
                "en": f"{lower_en} in this occupation is being claimed, counted as "
                f"{yuan(lower)}, difference {yuan(difference)}",
            }
        )
    elif lower > 0:
        lower_zh, lower_en = _level_names(lower_level)
        steps.append(
            {
                "zh": f"同工种已享受{lower_zh} {yuan(lower)} 元，差额 {yuan(difference)} 元",
                "en": f"{yuan(lower)} already paid for {lower_en} in this occupation, "
                f"difference {yuan(difference)}",
            }
        )
    capped = amount < difference
    steps.append(
        {
            "zh": f"每人上限 {yuan(cap)} 元，已计 {yuan(held)} 元"
            + (f"，核定 {yuan(amount)} 元" if capped else ""),
            "en": f"cap {yuan(cap)} per person, {yuan(held)} already"
            + (f"; {yuan(amount)} granted" if capped else ""),
        }
    )
    return steps
