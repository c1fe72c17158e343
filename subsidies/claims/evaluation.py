"""Judging claims under one policy version (pure: no database, clock or I/O).

Shared by calculation runs (subsidies.claims.calculation) and what-if simulations
(subsidies.policies.simulation): given the inputs a scheme loaded for some claims and the
version in force for them, decide eligibility with the policy's declared conditions,
let the scheme's pure calculator price the eligible rows, and explain every amount.

- A row whose conditions fail gets 0 and is NOT passed to the calculator, so it never
  takes a share of a cap that spans claims; its trace lists each failed condition (with
  the fact's actual value) first, then the zero amount.
- A claim whose basis date no version covers gets 0 and a trace saying so.
- A claim the scheme found no inputs for gets 0 and a trace saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from registry.levels import Level
from subsidies.policies import vocabulary
from subsidies.policies.documents import Policy
from subsidies.policies.vocabulary import Condition

Step = dict[str, str]
Calculate = Callable[[pd.DataFrame, Policy], pd.DataFrame]


def step(zh: str, en: str) -> Step:
    return {"zh": zh, "en": en}


def no_policy_trace(day: date) -> list[Step]:
    return [
        step(
            f"基准日期 {day.isoformat()} 没有生效的政策版本，金额 0 元",
            f"no version of the policy is in force on the basis date {day.isoformat()}: amount 0",
        )
    ]


NO_INPUTS_TRACE = [
    step(
        "未找到计算所需的资料（如实习登记、证书），金额 0 元",
        "the scheme found none of the records this claim rests on "
        "(placement, certificate, ...): amount 0",
    )
]
NOT_ELIGIBLE_STEP = step("不符合政策条件，金额 0 元", "policy conditions not met: amount 0")


def _actual(condition: Condition, value: Any) -> tuple[str, str]:
    """A fact's value as a trace shows it."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "未知", "unknown"
    kind = vocabulary.FACTS[condition.fact].kind
    if kind == "level":
        number = int(value)
        if not 1 <= number <= 5:
            return str(number), f"level {number}"
        level = Level(number)
        return level.zh, f"{level.en} ({number})"
    if kind == "bool":
        return ("是", "yes") if bool(value) else ("否", "no")
    if kind == "int":
        return str(int(value)), str(int(value))
    return str(value), str(value)


def failure_steps(condition: Condition, value: Any) -> Step:
    zh, en = condition.describe()
    actual_zh, actual_en = _actual(condition, value)
    return step(
        f"不符合条件：{zh}（实际：{actual_zh}）",
        f"condition not met: {en} (actual: {actual_en})",
    )


def _facts(inputs: pd.DataFrame, conditions: tuple[Condition, ...]) -> pd.DataFrame:
    """The facts the conditions name; a fact the scheme did not supply is unknown (fails)."""
    names = sorted({c.fact for c in conditions})
    facts = pd.DataFrame(index=inputs.index)
    for name in names:
        facts[name] = inputs[name] if name in inputs.columns else None
    return facts


def _failure_traces(
    facts: pd.DataFrame, passed: pd.DataFrame, conditions: tuple[Condition, ...]
) -> list[list[Step]]:
    """Per failing row: its failed conditions first, then the zero amount. Rows failing
    the same way with the same values share one list (there are few distinct ones)."""
    failed = ~passed[[f"c{i}" for i in range(len(conditions))]].to_numpy()
    columns = [facts[c.fact].tolist() for c in conditions]
    cache: dict[tuple[Any, ...], list[Step]] = {}
    traces: list[list[Step]] = []
    for row, mask in enumerate(failed):
        key = tuple((i, columns[i][row]) for i in range(len(conditions)) if mask[i])
        trace = cache.get(key)
        if trace is None:
            trace = [failure_steps(conditions[i], value) for i, value in key]
            trace.append(NOT_ELIGIBLE_STEP)
            cache[key] = trace
        traces.append(trace)
    return traces


def judge(inputs: pd.DataFrame, policy: Policy, calculate: Calculate) -> pd.DataFrame:
    """Amount and trace per row of `inputs` (indexed by claim id, in the order the caps
    fill: claim id). Returns a frame indexed like `inputs` with amount_fen (int64),
    trace (list of {zh, en}) and eligible (bool)."""
    result = pd.DataFrame(index=inputs.index)
    result["amount_fen"] = np.zeros(len(inputs), dtype=np.int64)
    result["trace"] = pd.Series([None] * len(inputs), index=inputs.index, dtype=object)
    if len(inputs) == 0:
        result["eligible"] = np.zeros(0, dtype=bool)
        return result
    facts = _facts(inputs, policy.conditions)
    passed = vocabulary.evaluate(policy.conditions, facts)
    eligible = passed["eligible"].to_numpy(dtype=bool)
    result["eligible"] = eligible
    if eligible.any():
        priced = calculate(inputs.loc[eligible], policy)
        _check_priced(priced, inputs.index[eligible], policy)
        result.loc[eligible, "amount_fen"] = priced["amount_fen"].to_numpy(dtype=np.int64)
        result.loc[eligible, "trace"] = pd.Series(
            priced["trace"].to_numpy(), index=inputs.index[eligible], dtype=object
        )
    if not eligible.all():
        rows = ~eligible
        traces = _failure_traces(facts.loc[rows], passed.loc[rows], policy.conditions)
        result.loc[rows, "trace"] = pd.Series(traces, index=inputs.index[rows], dtype=object)
    return result


def _check_priced(priced: pd.DataFrame, index: pd.Index, policy: Policy) -> None:
    """The calculator keeps its side of the contract (subsidies.schemes)."""
    where = f"the {policy.scheme} calculator"
    if not priced.index.equals(index):
        raise ValueError(f"{where} returned rows other than the ones it was given")
    amounts = priced["amount_fen"]
    if not pd.api.types.is_integer_dtype(amounts.dtype):
        raise ValueError(f"{where} returned amount_fen of type {amounts.dtype}, not integer fen")
    if len(amounts) and int(amounts.min()) < 0:
        raise ValueError(f"{where} returned a negative amount")


def version_order(versions: list[tuple[int, Policy]]) -> dict[int, int]:
    """Rank of each version id in the order runs process them: earlier effective date
    first (then lower number), so a cap fills with the older version's claims first."""
    ordered = sorted(versions, key=lambda v: (v[1].effective_from, v[1].version, v[0]))
    return {version_id: rank for rank, (version_id, _) in enumerate(ordered)}
