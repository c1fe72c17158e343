"""The training voucher calculator (subsidies.schemes contract).

What a reimbursement claim pays: the voucher's face value as fixed on the voucher at
issue, or the course fee the institution declared at redemption when that is lower
(min(face value, fee): a voucher never pays more than the course cost), and nothing
unless the outcome the claim names is a PASSED outcome of that institution for the
holder. No rounding happens: both figures are whole fen. The voucher itself is the
once-only guard (its claim's dedupe key), so no cap spans claims (cap_key None).

The policy conditions are judged on the facts recorded on the voucher when it was
issued (insured, insured months, hukou, age, level): a person who was eligible then
keeps the voucher's value even if, say, their employment ended before the course.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kernel.db import unit_of_work
from subsidies.claims import calculation_store as store
from subsidies.policies.documents import Policy
from subsidies.schemes import SchemeCalculator, register
from subsidies.vouchers import rules
from subsidies.vouchers.issuing import SCHEME

INPUT_COLUMNS = (
    "voucher_id",
    "voucher_number",
    "voucher_found",
    "face_value_fen",
    "fee_fen",
    "course_passed",
    "course_level",
    "insured",
    "insured_months",
    "hukou",
    "age",
    "level",
    "cap_key",
)


def _detail(details: pd.Series, key: str) -> pd.Series:
    return details.map(lambda d: d.get(key) if isinstance(d, dict) else None)


async def _rows(table: str, columns: dict[str, str], ids: list[int]) -> pd.DataFrame:
    """The rows of `table` with these ids, indexed by id: `columns` maps each name to
    its SQL expression. One bulk query through the driver (ids as one JSON array on
    SQLite, one array parameter on PostgreSQL), not Piccolo's row dicts; `+column`
    brings SQLite's raw integers, without its per-value converters."""
    rows = await store.fetch_rows(
        f"SELECT {', '.join(columns.values())} FROM {table} WHERE {store.where_in_integers('id')}",
        [store.list_parameter(ids)],
    )
    return pd.DataFrame(rows, columns=list(columns)).set_index("id")


async def load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    """Per claim: the voucher's face value, the declared fee, whether the named outcome
    is a passed outcome of the claimant for the holder, and the issue-day facts."""
    async with unit_of_work():  # joins the run's; the bulk reads need a connection
        return await _load_inputs(claims)


async def _load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    index = pd.Index(claims["id"].to_numpy(), name="claim_id")
    if not len(claims):
        return pd.DataFrame(columns=list(INPUT_COLUMNS), index=index)
    voucher_ids = pd.to_numeric(_detail(claims["details"], "voucher_id"), errors="coerce")
    outcome_ids = pd.to_numeric(_detail(claims["details"], "outcome_id"), errors="coerce")
    vouchers = await _rows(
        "voucher",
        {
            "id": "+id",
            "number": "number",
            "person": "+person",
            "institution": "+institution",
            "face_value_fen": "+face_value_fen",
            "course_fee_fen": "+course_fee_fen",
            "course_level": "+course_level",
            "facts": "facts",
        },
        sorted({int(v) for v in voucher_ids.dropna()}),
    )
    outcomes = await _rows(
        "training_outcome",
        {"id": "+id", "person": "+person", "institution": "+institution", "passed": "passed"},
        sorted({int(o) for o in outcome_ids.dropna()}),
    )
    v = vouchers.reindex(voucher_ids.to_numpy())
    o = outcomes.reindex(outcome_ids.to_numpy())
    person = claims["person_id"].to_numpy()
    claimant = claims["claimant_id"].to_numpy()
    found = v["face_value_fen"].notna().to_numpy() & (v["person"].to_numpy() == person)
    passed = (
        o["passed"].fillna(False).to_numpy(dtype=bool)
        & (o["person"].to_numpy() == person)
        & (o["institution"].to_numpy() == claimant)
        & (v["institution"].to_numpy() == claimant)
    )
    facts = pd.DataFrame(
        [json.loads(f) if isinstance(f, str) else {} for f in v["facts"]],
        columns=["insured", "insured_months", "hukou", "age", "level"],
    )
    out = pd.DataFrame(index=index)
    out["voucher_id"] = voucher_ids.to_numpy()
    out["voucher_number"] = v["number"].to_numpy()
    out["voucher_found"] = found
    out["face_value_fen"] = v["face_value_fen"].fillna(0).to_numpy(dtype=np.int64)
    out["fee_fen"] = pd.to_numeric(v["course_fee_fen"], errors="coerce").to_numpy(dtype="float64")
    out["course_passed"] = passed
    out["course_level"] = pd.to_numeric(v["course_level"], errors="coerce").to_numpy()
    out["insured"] = facts["insured"].astype(object).to_numpy()
    out["insured_months"] = pd.to_numeric(facts["insured_months"], errors="coerce").to_numpy()
    out["hukou"] = facts["hukou"].astype(object).to_numpy()
    out["age"] = pd.to_numeric(facts["age"], errors="coerce").to_numpy()
    out["level"] = pd.to_numeric(facts["level"], errors="coerce").to_numpy()
    out["cap_key"] = None
    return out


def _trace(
    policy: Policy, found: bool, passed: bool, has_fee: bool, face: int, fee: int
) -> tuple[int, list[dict[str, str]]]:
    """The amount and its explanation for one combination of inputs."""
    steps = [
        {
            "zh": f"依据{policy.source}{policy.title_zh}（第 {policy.version} 版）",
            "en": f"under {policy.title_en}, version {policy.version} ({policy.source})",
        }
    ]
    if not found:
        steps.append(
            {
                "zh": "未找到该持券人的培训券：不予报销",
                "en": "no voucher of this holder: nothing reimbursed",
            }
        )
        return 0, steps
    face_zh, face_en = (
        f"培训券面值 {rules.yuan(face)} 元",
        f"voucher face value {rules.yuan(face)} yuan",
    )
    if not passed:
        steps.append(
            {
                "zh": f"{face_zh}，本机构未报告该课程合格：不予报销",
                "en": f"{face_en}, no passed outcome of this institution for the course: "
                "nothing reimbursed",
            }
        )
        return 0, steps
    steps.append({"zh": f"{face_zh}，课程已合格", "en": f"{face_en}, course passed"})
    if not has_fee:
        steps.append(
            {"zh": "未申报课程费用：不予报销", "en": "no course fee declared: nothing reimbursed"}
        )
        return 0, steps
    amount = min(face, fee)
    if fee < face:
        steps.append(
            {
                "zh": f"课程费用 {rules.yuan(fee)} 元低于面值，按费用报销 {rules.yuan(amount)} 元",
                "en": f"course fee {rules.yuan(fee)} yuan is below the face value: "
                f"{rules.yuan(amount)} yuan reimbursed",
            }
        )
    else:
        steps.append(
            {
                "zh": f"课程费用 {rules.yuan(fee)} 元，按面值报销 {rules.yuan(amount)} 元",
                "en": f"course fee {rules.yuan(fee)} yuan: the face value, "
                f"{rules.yuan(amount)} yuan, is reimbursed",
            }
        )
    return amount, steps


def calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Pure and vectorised: the amount is numpy over the columns; traces are built once
    per distinct combination of inputs and shared by the rows that have it."""
    fee = inputs["fee_fen"].to_numpy(dtype="float64")
    key = pd.DataFrame(
        {
            "found": inputs["voucher_found"].to_numpy(dtype=bool),
            "passed": inputs["course_passed"].to_numpy(dtype=bool),
            "has_fee": ~np.isnan(fee),
            "face": inputs["face_value_fen"].to_numpy(dtype=np.int64),
            "fee": np.where(np.isnan(fee), 0, fee).astype(np.int64),
        }
    )
    pays = key["found"].to_numpy() & key["passed"].to_numpy() & key["has_fee"].to_numpy()
    amount = np.where(pays, np.minimum(key["face"].to_numpy(), key["fee"].to_numpy()), 0)
    codes = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()
    present, first = np.unique(codes, return_index=True)
    traces = np.empty(len(present), dtype=object)
    for code, row in zip(present, first, strict=True):
        found, passed, has_fee, face, fee_fen = key.iloc[row]
        traces[code] = _trace(
            policy, bool(found), bool(passed), bool(has_fee), int(face), int(fee_fen)
        )[1]
    # Rows with equal inputs share one trace list: readers must not change it in place
    # (the calculation run replaces traces, it never edits them).
    return pd.DataFrame(
        {"amount_fen": amount.astype(np.int64), "trace": traces[codes]}, index=inputs.index
    )


CALCULATOR = register(SchemeCalculator(SCHEME, load_inputs, calculate))
