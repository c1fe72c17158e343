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
- The difference rule follows the version's `upgrade_basis`. Per person (the default
  version): a claim pays the larger of its level's amount and that of the highest level
  already paid to the person (in any occupation), less what the person's other claims
  hold, floored at 0; a pending lower level counts as below. So senior worker as a
  welder (3,000) and then technician as an electrician pays 5,000; senior worker as an
  electrician after technician as a welder (8,000) pays nothing. Same run: the
  person's claims lowest level first, whatever the occupation. The trace names the
  basis and each claim deducted (id, level, occupation, amount).
- Per occupation (`upgrade_basis = "occupation"`, how version 1 reads): a level reached
  later in the same occupation pays amount(level) - what claims for LOWER levels of that
  occupation already hold (statuses calculated/approved/on_hold/paid, see facts.py),
  floored at 0. Reaching technician as a welder after 3,000 for senior worker as a
  welder pays 5,000; reaching technician as an electrician after senior worker as a
  welder pays the full 8,000 (no lower level was paid in that occupation). Claims for
  lower levels of the same person and occupation in the SAME run count too (lowest level
  first), so a run holding both the senior-worker and the technician claim pays 3,000 +
  5,000, never 3,000 + 8,000. So does a lower level whose claim is still pending
  (proposed or submitted, e.g. found by the same scan but confirmed later): it counts
  for its policy amount, since its own calculation will pay the difference below it.
  Without this, calculating the technician claim first would pay 8,000 and then 3,000
  more. The price: if that pending claim is later rejected, the higher level was reduced
  by an amount never paid; the trace says "being claimed", and an officer can see it.
- The cap (`cap_per_person_fen`, 50,000 yuan) holds across everything the person is
  paid under this scheme: cap key `skill_level:{person}`, filled in the row order the
  run gives (claim id) by subsidies.calculators.caps.apply_cap, after what other claims
  of the person already hold (`already_fen`, added by the run).

All amounts are integers in fen; nothing is divided, so nothing is rounded.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from subsidies.calculators import traces
from subsidies.calculators.caps import apply_cap
from subsidies.policies import vocabulary
from subsidies.policies.documents import Policy, SkillLevelParameters
from subsidies.skill_levels import deductions
from subsidies.skill_levels.deductions import InRun
from subsidies.skill_levels.texts import level_names, yuan

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
    run: InRun,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per occupation. Per row: the amount before the cap, what lower levels of the
    same person and occupation count for, the highest such level (NaN if none), and
    whether that figure is a pending claim's; `run` collects the run's rows deducted.

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
        run.step(rr, g, difference[rr])
        paid_in_run[g] += difference[rr]
        level_in_run[g] = np.where(difference[rr] > 0, level[rr], level_in_run[g])
    return difference, lower_total, lower_level, pending_used


def _person_difference(
    base: np.ndarray,
    by_level: np.ndarray,
    held_db: np.ndarray,
    top_db: np.ndarray,
    pending_fen: np.ndarray,
    person: np.ndarray,
    level: np.ndarray,
    counted: np.ndarray,
    run: InRun,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person. Per row: the amount before the cap, what is deducted, what the
    person's other claims hold, the highest level paid to the person (NaN if none)
    and whether the deduction is a pending lower level's policy amount.

    The row's target is the larger of its level's amount and the highest paid level's:
    a level at or below one already paid adds nothing, and an upgrade tops the person
    up to the new level's amount. What is deducted is what the person's other claims
    hold, or a pending lower level's amount when larger (its own claim will pay the
    difference below it, as per occupation). Rows of one person in the run go lowest
    level first, as _in_batch_difference's, each seeing what the earlier ones paid."""
    held = held_db.astype(np.int64, copy=True)
    top = top_db.astype(float, copy=True)
    target = np.maximum(base, by_level[_level_index(top)])
    pending_used = pending_fen > held
    deducted = np.maximum(held, pending_fen).astype(np.int64)
    difference = np.where(counted, np.maximum(target - deducted, 0), 0).astype(np.int64)
    idx = np.flatnonzero(counted)
    everyone = np.zeros(len(base), dtype=np.int64)  # one group per person
    shared, groups, rank = _sharing_rows(idx, person, everyone, level)
    if len(shared) == 0:
        return difference, deducted, held, top, pending_used
    paid_in_run = np.zeros(int(groups.max()) + 1, dtype=np.int64)
    top_in_run = np.full(len(paid_in_run), np.nan)
    for r in range(int(rank.max()) + 1):
        at = rank == r
        g, rr = groups[at], shared[at]
        held[rr] = held_db[rr] + paid_in_run[g]
        top[rr] = np.fmin(top_db[rr], top_in_run[g])
        target = np.maximum(base[rr], by_level[_level_index(top[rr])])
        pending_used[rr] = pending_fen[rr] > held[rr]
        deducted[rr] = np.maximum(held[rr], pending_fen[rr])
        difference[rr] = np.maximum(target - deducted[rr], 0)
        run.step(rr, g, difference[rr])
        paid_in_run[g] += difference[rr]
        top_in_run[g] = np.where(
            difference[rr] > 0, np.fmin(top_in_run[g], level[rr]), top_in_run[g]
        )
    return difference, deducted, held, top, pending_used


def _column(inputs: pd.DataFrame, name: str) -> np.ndarray:
    """A level column as floats (NaN when unknown or absent)."""
    if name not in inputs:
        return np.full(len(inputs), np.nan)
    return pd.to_numeric(inputs[name], errors="coerce").to_numpy(dtype=float)


def calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """`inputs` (one row per claim, see facts.py): person_id, occupation_code, level
    (NaN when unknown), certificate_valid, lower_paid_fen, lower_paid_level,
    lower_pending_level, person_paid_fen, person_paid_level, person_pending_level,
    earlier_paid, already_fen (from the run, per cap_key; 0 if absent) and the
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
    occupation = inputs["occupation_code"].fillna("").astype(str).to_numpy(dtype=object)
    run = InRun(inputs.index.to_numpy(), level, occupation)
    person = _group_codes(inputs["person_id"])
    per_person = parameters.upgrade_basis == "person"
    if per_person:
        pending_level = _column(inputs, "person_pending_level")
        pending_fen = by_level[_level_index(pending_level)]
        held_db = (
            inputs["person_paid_fen"].fillna(0).to_numpy(dtype=np.int64)
            if "person_paid_fen" in inputs
            else np.zeros(n, dtype=np.int64)
        )
        difference, lower_total, held, top, pending_used = _person_difference(
            base,
            by_level,
            held_db,
            _column(inputs, "person_paid_level"),
            pending_fen,
            person,
            level,
            eligible,
            run,
        )
        lower_level = np.where(pending_used, pending_level, np.nan)
    else:
        lower_db = inputs["lower_paid_fen"].fillna(0).to_numpy(dtype=np.int64)
        pending_level = _column(inputs, "lower_pending_level")
        pending_fen = by_level[_level_index(pending_level)]
        difference, lower_total, lower_level, pending_used = _in_batch_difference(
            base,
            lower_db,
            _column(inputs, "lower_paid_level"),
            pending_fen,
            pending_level,
            person,
            _group_codes(inputs["occupation_code"]),
            level,
            eligible,
            run,
        )
        held = np.where(pending_used, 0, lower_total)
        top = np.full(n, np.nan)

    already = (
        inputs["already_fen"].fillna(0).to_numpy(dtype=np.int64)
        if "already_fen" in inputs
        else np.zeros(n, dtype=np.int64)
    )
    cap = parameters.cap_per_person_fen
    # Rows that pay nothing still pass through the cap: they take 0 from it. The cap
    # key is `skill_level:{person}` (cap_key()): grouping by the person is the same and
    # avoids hashing a million strings.
    amount, cap_held = apply_cap(difference, person, already, cap)
    earlier = (
        inputs["earlier_paid"].fillna("").astype(str).to_numpy(dtype=object)
        if "earlier_paid" in inputs
        else np.full(n, "", dtype=object)
    )
    deducted = deductions.deducted(
        per_person, eligible & (held > 0), earlier, run.entries, level, occupation
    )
    paid = eligible & valid
    shows_top = paid & per_person & (_level_index(top) > 0) & (top <= level)
    shows_lower = paid & (lower_total > 0)
    listed = paid & (deducted != "")
    trace = traces.factorized(
        functools.partial(_trace, parameters.upgrade_basis, cap),
        np.where(valid, np.where(eligible, 2, 1), 0),
        np.where(paid, level_index, 0),
        np.where(paid, by_level[level_index], 0),
        np.where(shows_lower, lower_total, 0),
        np.where(shows_lower & pending_used, _level_index(lower_level), 0),
        np.where(paid, held, 0),
        np.where(shows_top, _level_index(top), 0),
        np.where(shows_top, by_level[_level_index(top)], 0),
        np.where(paid, difference, 0),
        np.where(paid, cap_held, 0),
        np.where(paid, amount, 0),
        listed,
    )
    # The claims deducted differ per row: that step is made for each such row and put
    # after its case's first two (the level and the basis).
    rows = np.flatnonzero(listed)
    zh, en = deductions.step_texts(
        deducted[rows].tolist(), held[rows].tolist(), *_WHERE[parameters.upgrade_basis]
    )
    for i, step_zh, step_en in zip(rows.tolist(), zh, en, strict=True):
        shared = trace[i]
        trace[i] = [*shared[:2], {"zh": step_zh, "en": step_en}, *shared[2:]]
    return pd.DataFrame({"amount_fen": amount.astype(np.int64), "trace": trace}, index=inputs.index)


def _level_index(level: np.ndarray) -> np.ndarray:
    """A level number (float, NaN when unknown) as an index 0-6; 0 for unknown."""
    return np.where(np.isnan(level), 0, np.clip(level, 0, 6)).astype(np.int64)


_WHERE = {"person": ("本人", "by this person"), "occupation": ("同工种", "in this occupation")}
BASIS_STEPS = {
    "person": {
        "zh": "按人计算：每人每个等级资助一次，晋升补发与已享受最高等级的差额（不分工种）",
        "en": "basis: per person, once per level across occupations; an upgrade pays the "
        "difference from the highest level already paid",
    },
    "occupation": {
        "zh": "按工种计算：同一工种内晋升补发差额",
        "en": "basis: per occupation; an upgrade pays the difference within its occupation",
    },
}


def _trace(
    basis: str,
    cap: int,
    case: int,
    level_index: int,
    base: int,
    lower: int,
    pending_level_index: int,
    held: int,
    top_index: int,
    top_fen: int,
    difference: int,
    cap_held: int,
    amount: int,
    listed: bool,
) -> list[dict[str, Any]]:
    """The steps a case shares; a row naming the claims it deducts (`listed`) gets
    that step of its own in calculate()."""
    basis_step = BASIS_STEPS[basis]
    if case == 0:
        return [
            {
                "zh": "证书无效（已撤销、不存在或不属于本人），不予资助",
                "en": "the certificate is not valid (revoked, missing or another person's): "
                "nothing is paid",
            },
            basis_step,
        ]
    if case == 1:
        return [
            {"zh": "不符合政策条件，不予资助", "en": "policy conditions not met: nothing is paid"},
            basis_step,
        ]
    zh, en = level_names(level_index)
    steps = [{"zh": f"{zh} {yuan(base)} 元", "en": f"{en} {yuan(base)} yuan"}, basis_step]
    where_zh, where_en = _WHERE[basis]
    if held and not listed:
        steps.append(
            {
                "zh": f"{where_zh}已享受 {yuan(held)} 元",
                "en": f"{yuan(held)} already paid {where_en}",
            }
        )
    if pending_level_index:
        lower_zh, lower_en = level_names(pending_level_index)
        steps.append(
            {
                "zh": f"{where_zh}{lower_zh}申领在办，按 {yuan(lower)} 元计",
                "en": f"{lower_en} is being claimed {where_en}, counted as {yuan(lower)}",
            }
        )
    if top_index:
        top_zh, top_en = level_names(top_index)
        steps.append(
            {
                "zh": f"已享受的最高等级为{top_zh}（{yuan(top_fen)} 元），不低于本等级，"
                f"扣减 {yuan(lower)} 元后差额 {yuan(difference)} 元",
                "en": f"{top_en} ({yuan(top_fen)}) already paid, at or above this level: "
                f"less {yuan(lower)}, difference {yuan(difference)}",
            }
        )
    elif lower:
        steps.append(
            {
                "zh": f"扣减 {yuan(lower)} 元，差额 {yuan(difference)} 元",
                "en": f"less {yuan(lower)}, difference {yuan(difference)}",
            }
        )
    capped = amount < difference
    steps.append(
        {
            "zh": f"每人上限 {yuan(cap)} 元，已计 {yuan(cap_held)} 元"
            + (f"，核定 {yuan(amount)} 元" if capped else ""),
            "en": f"cap {yuan(cap)} per person, {yuan(cap_held)} already"
            + (f"; {yuan(amount)} granted" if capped else ""),
        }
    )
    return steps
