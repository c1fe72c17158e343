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
from subsidies.calculators import traces
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


def _group_codes(column: pd.Series) -> np.ndarray:
    """Integer codes equal where the values are (missing values share one code):
    grouping by codes is the same as by values, without hashing Python objects."""
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False)


def _sharing_rows(
    rows: np.ndarray, person: np.ndarray, occupation: np.ndarray, level: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows (of `rows`) whose person+occupation has other rows too, each with its
    group (0, 1, ...) and its rank in the group: lowest level (highest number) first,
    NaN last, ties by row. Most people have one claim in a run: their rows need no
    sorting, so they are left out here (and out of the hashing too)."""
    nobody = np.zeros(0, dtype=np.int64)
    person_of = person[rows]
    shared = rows[np.bincount(person_of)[person_of] > 1]  # the person has other rows
    if len(shared) == 0:
        return nobody, nobody, nobody
    # One integer per person+occupation (codes are below the row count: no overflow).
    pairs = person[shared] * (int(occupation.max()) + 1) + occupation[shared]
    groups, _ = pd.factorize(pairs)
    several = np.bincount(groups)[groups] > 1
    shared, groups = shared[several], groups[several].astype(np.int64, copy=False)
    if len(shared) == 0:
        return nobody, nobody, nobody
    level_key = np.nan_to_num(-level[shared], nan=np.inf)
    order = np.lexsort((shared, level_key, groups))
    shared, groups = shared[order], groups[order]
    starts = np.ones(len(shared), dtype=bool)
    starts[1:] = groups[1:] != groups[:-1]
    position = np.arange(len(shared))
    rank = position - np.maximum.accumulate(np.where(starts, position, 0))
    return shared, groups, rank


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

    `person` and `occupation`: integer group codes (see _group_codes).

    Lower levels count for the larger of (a) what stored claims hold plus what this run
    gives lower-level rows, and (b) the policy amount of the highest lower level whose
    claim is still pending (proposed or submitted, in no run yet): its own amount will be
    the difference below it, so the two together come to (b).

    A row alone with its person+occupation in the run has only (a)'s stored part and
    (b): one vectorised step for all of them. Rows sharing it are taken lowest level
    first; rank by rank, each rank is one vectorised step (a group has at most one row
    per rank, levels being unique per person among live claims, so there are at most
    five steps in practice)."""
    lower_total = np.maximum(lower_db, pending_fen).astype(np.int64)
    pending_used = pending_fen > lower_db
    lower_level = np.where(pending_used, pending_level, lower_db_level).astype(float)
    difference = np.where(counted, np.maximum(base - lower_total, 0), 0).astype(np.int64)
    idx = np.flatnonzero(counted)
    shared, groups, rank = _sharing_rows(idx, person, occupation, level)
    if len(shared) == 0:
        return difference, lower_total, lower_level, pending_used
    paid_in_run = np.zeros(int(groups.max()) + 1, dtype=np.int64)
    level_in_run = np.full(len(paid_in_run), np.nan)
    for r in range(int(rank.max()) + 1):
        at = rank == r
        g, rr = groups[at], shared[at]
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
    lower_pending_level, already_fen (from the run, per cap_key; 0 if absent) and the
    condition facts. Returns amount_fen (int64) and trace (list of {zh, en}) indexed
    like `inputs`. Rows with the same figures share one trace list (see
    subsidies.calculators.traces)."""
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
    level_index = _level_index(level)
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
    pending_fen = by_level[_level_index(pending_level)]
    person = _group_codes(inputs["person_id"])
    difference, lower_total, lower_level, pending_used = _in_batch_difference(
        base,
        lower_db,
        lower_db_level,
        pending_fen,
        pending_level,
        person,
        _group_codes(inputs["occupation_code"]),
        level,
        eligible,
    )

    already = (
        inputs["already_fen"].fillna(0).to_numpy(dtype=np.int64)
        if "already_fen" in inputs
        else np.zeros(n, dtype=np.int64)
    )
    cap = parameters.cap_per_person_fen
    # Rows that pay nothing still pass through the cap: they take 0 from it. The cap
    # key is `skill_level:{person}` (cap_key()): grouping by the person is the same and
    # avoids hashing a million strings.
    amount, held = apply_cap(difference, person, already, cap)
    trace = _traces(
        valid, eligible, level, level_index, by_level, lower_total, lower_level,
        pending_used, difference, held, amount, cap,
    )  # fmt: skip
    return pd.DataFrame({"amount_fen": amount.astype(np.int64), "trace": trace}, index=inputs.index)


def _level_index(level: np.ndarray) -> np.ndarray:
    """A level number (float, NaN when unknown) as an index 0-6; 0 for unknown."""
    return np.where(np.isnan(level), 0, np.clip(level, 0, 6)).astype(np.int64)


def _traces(
    valid: np.ndarray,
    eligible: np.ndarray,
    level: np.ndarray,
    level_index: np.ndarray,
    by_level: np.ndarray,
    lower_total: np.ndarray,
    lower_level: np.ndarray,
    pending_used: np.ndarray,
    difference: np.ndarray,
    held: np.ndarray,
    amount: np.ndarray,
    cap: int,
) -> np.ndarray:
    """One trace per row (an object array), built once per distinct case.

    A trace reads: whether the row is paid at all (invalid / ineligible / paid), the
    level, what lower levels count for (and which level, and whether pending) and what
    the cap already holds. Those figures determine the rest (the difference is the
    level's amount less the lower figure, the amount what the cap leaves of it), so
    they are the case's key; figures a trace does not show are zeroed in the key."""
    paid = eligible & valid
    case = np.where(valid, np.where(eligible, 2, 1), 0).astype(np.int64)
    shows_lower = paid & (lower_total > 0)
    small = (
        case
        + 4 * np.where(paid, level_index, 0)
        + 32 * np.where(shows_lower, _level_index(lower_level), 0)
        + 256 * (shows_lower & pending_used)
    )
    codes = traces.combined_codes(
        small, np.where(shows_lower, lower_total, 0), np.where(paid, held, 0)
    )
    firsts = traces.first_rows(codes, int(codes.max()) + 1).tolist()
    built = [
        _trace(
            bool(valid[i]),
            bool(eligible[i]),
            float(level[i]),
            int(by_level[level_index[i]]),
            int(lower_total[i]),
            float(lower_level[i]),
            bool(pending_used[i]),
            int(difference[i]),
            int(held[i]),
            int(amount[i]),
            cap,
        )
        for i in firsts
    ]
    return traces.objects(built)[codes]


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
