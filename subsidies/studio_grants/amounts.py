"""The master studio grant, as a pure vectorised calculation.

- An established studio's host organisation claims the grant for the studio's level
  (city, province, national): the policy's `amount_by_level_fen` for that level.
- Once per studio and level: the claim's dedupe key is `studio_grant:{studio}:{level}`,
  so the same level is never paid twice, while a studio raised to a higher level may
  claim that level's grant in full (the policy names no difference rule; a new version
  could lower the higher amounts if the bureau wants only the difference paid).
- The claim names the level it was made for. It pays nothing when, at calculation, the
  studio is not established any more (revoked), is not the claimant's (its host
  changed), or holds another level than the one claimed (the trace says which).

All amounts are integers in fen; nothing is divided, so nothing is rounded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from subsidies.calculators import traces
from subsidies.policies.documents import Policy, StudioGrantParameters

SCHEME = "studio_grant"
LEVEL_NAMES = {
    "city": ("市级", "city"),
    "province": ("省级", "province"),
    "national": ("国家级", "national"),
}


def dedupe_key(studio_id: int, level: str) -> str:
    return f"{SCHEME}:{studio_id}:{level}"


def yuan(fen: int) -> str:
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def _names(level: str) -> tuple[str, str]:
    return LEVEL_NAMES.get(level, (str(level), str(level)))


def calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """`inputs` (one row per claim): studio_id, claimed_level, studio_level,
    studio_status, host_is_claimant. Returns amount_fen (int64) and trace."""
    parameters = policy.parameters
    assert isinstance(parameters, StudioGrantParameters)
    if len(inputs) == 0:
        return pd.DataFrame(
            {"amount_fen": pd.Series([], dtype=np.int64), "trace": []}, index=inputs.index
        )
    claimed = inputs["claimed_level"].astype(object).fillna("").to_numpy()
    held = inputs["studio_level"].astype(object).fillna("").to_numpy()
    status = inputs["studio_status"].astype(object).fillna("").to_numpy()
    host = inputs["host_is_claimant"].fillna(False).to_numpy(dtype=bool)
    by_level = parameters.amount_by_level_fen
    rate = np.array([by_level.get(level, 0) for level in claimed.tolist()], dtype=np.int64)
    # Why a row pays nothing, in the order a trace reports it (0: it pays).
    reason = np.select(
        [status != "established", ~host, held != claimed, rate == 0],
        [1, 2, 3, 4],
        default=0,
    )
    amount = np.where(reason == 0, rate, 0).astype(np.int64)
    trace = traces.factorized(
        lambda r, c, h, s, fen: _trace(policy, r, c, h, s, fen), reason, claimed, held, status, rate
    )
    return pd.DataFrame({"amount_fen": amount, "trace": trace}, index=inputs.index)


def _trace(
    policy: Policy, reason: int, claimed: str, held: str, status: str, fen: int
) -> list[dict[str, str]]:
    claimed_zh, claimed_en = _names(claimed)
    steps = [
        {
            "zh": f"依据{policy.title_zh}（第 {policy.version} 版）",
            "en": f"under {policy.title_en} (version {policy.version})",
        }
    ]
    if reason == 1:
        steps.append(
            {
                "zh": f"工作室当前状态为“{status or '未知'}”，非已认定，不予资助",
                "en": f"the studio is {status or 'unknown'}, not established: nothing is paid",
            }
        )
    elif reason == 2:
        steps.append(
            {
                "zh": "申请单位不是该工作室的依托单位，不予资助",
                "en": "the claimant does not host this studio: nothing is paid",
            }
        )
    elif reason == 3:
        held_zh, held_en = _names(held)
        steps.append(
            {
                "zh": f"申请的是{claimed_zh}，工作室现为{held_zh}，不予资助",
                "en": f"claimed as {claimed_en}, but the studio is {held_en}: nothing is paid",
            }
        )
    elif reason == 4:
        steps.append(
            {
                "zh": f"政策未规定{claimed_zh}工作室的资助金额，0 元",
                "en": f"the policy gives no amount for a {claimed_en} studio: 0",
            }
        )
    else:
        steps.append(
            {
                "zh": f"{claimed_zh}技能大师工作室资助 {yuan(fen)} 元（每个工作室每个级别一次）",
                "en": f"{claimed_en} master studio grant {yuan(fen)} yuan "
                "(once per studio and level)",
            }
        )
    return steps
