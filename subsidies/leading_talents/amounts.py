"""The leading-talent calculators, pure and vectorised (subsidies.schemes contract).

Living subsidy (`leading_talent_living`): one claim per instalment of an award. The
claim names its instalment number (1-based) and the award; it pays the amount of that
instalment in the policy version in force on its basis date (award date + the
instalment's months_after_award), nothing if that version has no such instalment or the
award was revoked, and never more than what is left of the version's total per person
(`total_fen`) after what the person's other claims hold (`already_fen`, cap key
`leading_talent_living:person:{id}`) and this run's earlier instalments.

Introduction reward (`leading_talent_introduction`): one claim per award where an
enterprise applied for its employee. It pays the version's `amount_fen` when the
employment with that enterprise started no more than `window_months` before the award
(and not after it) and the award is live; the policy's conditions (employed in
Dongguan on the award date) are judged by the run before this sees a row. At most one
reward per talent: cap key `leading_talent_introduction:person:{id}` with the amount as
the cap, after what other claims hold.

Amounts are integers in fen; nothing is divided, so nothing is rounded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from subsidies.calculators import traces
from subsidies.calculators.caps import apply_cap
from subsidies.policies.documents import (
    IntroductionRewardParameters,
    LivingSubsidyParameters,
    Policy,
)

LIVING = "leading_talent_living"
INTRODUCTION = "leading_talent_introduction"

Step = dict[str, str]


def yuan(fen: int) -> str:
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def _policy_step(policy: Policy) -> Step:
    return {
        "zh": f"依据{policy.source}{policy.title_zh}（第 {policy.version} 版）",
        "en": f"under {policy.title_en}, version {policy.version} ({policy.source})",
    }


def _empty(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"amount_fen": np.zeros(0, dtype=np.int64), "trace": pd.Series([], dtype=object)},
        index=inputs.index,
    )


def _already(inputs: pd.DataFrame) -> np.ndarray:
    if "already_fen" not in inputs.columns:
        return np.zeros(len(inputs), dtype=np.int64)
    return inputs["already_fen"].fillna(0).to_numpy(dtype=np.int64)


# -- living subsidy ----------------------------------------------------------------------


def instalment_amounts(numbers: np.ndarray, p: LivingSubsidyParameters) -> np.ndarray:
    """The amount of instalment n (1-based) per row; 0 where the version has no such one."""
    table = np.array([0, *(i.amount_fen for i in p.instalments)], dtype=np.int64)
    n = np.asarray(numbers, dtype=np.int64)
    inside = (n >= 1) & (n < len(table))
    return np.where(inside, table[np.clip(n, 0, len(table) - 1)], np.int64(0))


def calculate_living(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    p: LivingSubsidyParameters = policy.parameters
    if len(inputs) == 0:
        return _empty(inputs)
    number = inputs["instalment"].fillna(0).to_numpy(dtype=np.int64)
    live = inputs["award_live"].fillna(False).to_numpy(dtype=bool)
    base = np.where(live, instalment_amounts(number, p), np.int64(0))
    # Instalments fill the per-person total in instalment order, then claim id.
    order = np.lexsort((inputs.index.to_numpy(), number, inputs["cap_key"].astype(str)))
    capped_sorted, held_sorted = apply_cap(
        base[order],
        inputs["cap_key"].astype(str).to_numpy()[order],
        _already(inputs)[order],
        p.total_fen,
    )
    amount = np.empty(len(inputs), dtype=np.int64)
    held = np.empty(len(inputs), dtype=np.int64)
    amount[order] = capped_sorted
    held[order] = held_sorted
    count = len(p.instalments)
    award = inputs["award_number"].fillna("?").astype(str).to_numpy()
    steps = np.empty((len(inputs), 3), dtype=object)
    steps[:, 0] = traces.objects([_policy_step(policy)])[np.zeros(len(inputs), dtype=np.int64)]
    steps[:, 1] = traces.factorized(
        lambda a, n, ok: _instalment_step(a, n, ok, count, p), award, number, live
    )
    steps[:, 2] = traces.factorized(lambda h, a, b: _total_step(h, a, b, p), held, amount, base)
    return pd.DataFrame(
        {"amount_fen": amount, "trace": pd.Series(steps.tolist(), index=inputs.index)},
        index=inputs.index,
    )


def _instalment_step(
    award: str, number: int, live: bool, count: int, p: LivingSubsidyParameters
) -> Step:
    if not live:
        return {
            "zh": f"奖励 {award} 已撤销或不存在：第 {number} 期不予发放，0 元",
            "en": f"award {award} is revoked or missing: instalment {number} pays 0",
        }
    if not 1 <= number <= count:
        return {
            "zh": f"本版本共 {count} 期，没有第 {number} 期：0 元",
            "en": f"this version has {count} instalments, no instalment {number}: 0",
        }
    item = p.instalments[number - 1]
    return {
        "zh": f"奖励 {award} 第 {number}/{count} 期（授予后第 {item.months_after_award} 个月）"
        f"{yuan(item.amount_fen)} 元",
        "en": f"award {award}, instalment {number} of {count} ({item.months_after_award} "
        f"months after the award): {yuan(item.amount_fen)} yuan",
    }


def _total_step(held: int, amount: int, base: int, p: LivingSubsidyParameters) -> Step:
    total = yuan(p.total_fen)
    if amount < base:
        return {
            "zh": f"每人生活补贴总额上限 {total} 元，已计 {yuan(held)} 元；本期只计余额 "
            f"{yuan(amount)} 元",
            "en": f"total {total} yuan per person, {yuan(held)} already: this instalment "
            f"pays the remaining {yuan(amount)}",
        }
    return {
        "zh": f"每人生活补贴总额上限 {total} 元，已计 {yuan(held)} 元；本期 {yuan(amount)} 元",
        "en": f"total {total} yuan per person, {yuan(held)} already; this instalment "
        f"{yuan(amount)}",
    }


# -- introduction reward -------------------------------------------------------------------


def calculate_introduction(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    p: IntroductionRewardParameters = policy.parameters
    if len(inputs) == 0:
        return _empty(inputs)
    live = inputs["award_live"].fillna(False).to_numpy(dtype=bool)
    started = pd.to_datetime(inputs["started_on"])
    awarded = pd.to_datetime(inputs["awarded_on"])
    known = started.notna().to_numpy() & awarded.notna().to_numpy()
    # The window opens window_months before the award (pandas clips a missing day to
    # the month's end, as registry.appraisals.rules.add_months does) and closes on it.
    opens = awarded - pd.DateOffset(months=p.window_months)
    within = known & (started >= opens).to_numpy() & (started <= awarded).to_numpy()
    pays = live & within
    base = np.where(pays, np.int64(p.amount_fen), np.int64(0))
    keys = inputs["cap_key"].astype(str).to_numpy()
    amount, held = apply_cap(base, keys, _already(inputs), p.amount_fen)
    started_text = np.where(known, started.dt.strftime("%Y-%m-%d").fillna("?"), "?")
    awarded_text = awarded.dt.strftime("%Y-%m-%d").fillna("?").to_numpy()
    award = inputs["award_number"].fillna("?").astype(str).to_numpy()
    steps = np.empty((len(inputs), 2), dtype=object)
    steps[:, 0] = traces.objects([_policy_step(policy)])[np.zeros(len(inputs), dtype=np.int64)]
    steps[:, 1] = traces.factorized(
        lambda a, ok, s, w, inside, h, amt: _window_step(a, ok, s, w, inside, h, amt, p),
        award,
        live,
        started_text,
        awarded_text,
        within,
        held,
        amount,
    )
    return pd.DataFrame(
        {"amount_fen": amount, "trace": pd.Series(steps.tolist(), index=inputs.index)},
        index=inputs.index,
    )


def _window_step(
    award: str,
    live: bool,
    started: str,
    awarded: str,
    within: bool,
    held: int,
    amount: int,
    p: IntroductionRewardParameters,
) -> Step:
    window = p.window_months
    if not live:
        return {
            "zh": f"奖励 {award} 已撤销或不存在：0 元",
            "en": f"award {award} is revoked or missing: 0",
        }
    if started == "?":
        return {
            "zh": "未找到该企业与该人才的劳动关系记录：0 元",
            "en": "no employment of the talent with this enterprise is recorded: 0",
        }
    if not within:
        return {
            "zh": f"{started} 引进，{awarded} 授予，超出引进后 {window} 个月内的期限：0 元",
            "en": f"brought in on {started}, awarded on {awarded}: outside the {window}-month "
            "window: 0",
        }
    if amount < p.amount_fen:
        return {
            "zh": f"{started} 引进，{awarded} 授予（{window} 个月内）；每名人才奖励上限 "
            f"{yuan(p.amount_fen)} 元，已计 {yuan(held)} 元：本次 {yuan(amount)} 元",
            "en": f"brought in on {started}, awarded on {awarded} (within {window} months); "
            f"{yuan(p.amount_fen)} yuan per talent, {yuan(held)} already: {yuan(amount)}",
        }
    return {
        "zh": f"{started} 引进，{awarded} 授予（{window} 个月内）：奖励 {yuan(amount)} 元",
        "en": f"brought in on {started}, awarded on {awarded} (within {window} months): "
        f"{yuan(amount)} yuan",
    }
