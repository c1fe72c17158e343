"""Judging claims under one policy version (subsidies.claims.evaluation) and the run's
pure helpers (subsidies.claims.calculation: chunk plan, inputs as JSON)."""

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from subsidies.claims import calculation, evaluation, json_text
from subsidies.policies import documents
from subsidies.policies.catalogue import StoredPolicy
from subsidies.policies.vocabulary import Condition


def policy(conditions=(), effective_from="2022-01-01", version=1, effective_to=None):
    raw = {
        "scheme": "skill_level",
        "version": version,
        "title_zh": "测试",
        "title_en": "test",
        "source": "test",
        "effective_from": effective_from,
        "payee": "person",
        "conditions": [{"fact": f, "op": o, "value": v} for f, o, v in conditions],
        "parameters": {"cap_per_person_fen": 1000, "amount_by_level_fen": {"3": 600}},
    }
    if effective_to:
        raw["effective_to"] = effective_to
    return documents.parse(raw, "test")


def stored(p, version_id):
    return StoredPolicy(version_id, p, "api", None, "test", datetime(2024, 1, 1), None)


def flat_calculator(inputs, _policy):
    """Pays 600 per row, capped at 1,000 per cap key in row order (what a real one does)."""
    from subsidies.calculators.caps import apply_cap

    amount, held = apply_cap(
        np.full(len(inputs), 600), inputs["cap_key"].to_numpy(), inputs["already_fen"], 1000
    )
    traces = [[{"zh": f"已计 {h}", "en": f"{h} already"}] for h in held]
    return pd.DataFrame({"amount_fen": amount, "trace": traces}, index=inputs.index)


def frame(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.Index(range(1, n + 1), name="id"))


def test_failing_rows_get_zero_their_failures_first_and_take_nothing_from_the_cap():
    p = policy([("employed_in_dongguan", "is", True), ("level", "at_least", 3)])
    inputs = frame(
        employed_in_dongguan=[True, False, True, None],
        level=[3.0, 2.0, 4.0, 3.0],
        cap_key=["p"] * 4,
        already_fen=[0] * 4,
    )
    result = evaluation.judge(inputs, p, flat_calculator)
    assert result["amount_fen"].tolist() == [600, 0, 0, 0]
    assert result["eligible"].tolist() == [True, False, False, False]
    employed = Condition("employed_in_dongguan", "is", True).describe()
    level = Condition("level", "at_least", 3).describe()
    assert result.loc[2, "trace"] == [
        {
            "zh": f"不符合条件：{employed[0]}（实际：否）",
            "en": f"condition not met: {employed[1]} (actual: no)",
        },
        evaluation.NOT_ELIGIBLE_STEP,
    ]
    actual = "(actual: intermediate worker (4))"
    assert result.loc[3, "trace"][0]["en"] == f"condition not met: {level[1]} {actual}"
    assert result.loc[4, "trace"][0]["en"].endswith("(actual: unknown)")
    assert result.loc[1, "trace"] == [{"zh": "已计 0", "en": "0 already"}]


def test_every_failed_condition_is_listed_in_the_policy_order():
    p = policy([("employed_in_dongguan", "is", True), ("level", "at_least", 3)])
    inputs = frame(employed_in_dongguan=[False], level=[5.0], cap_key=["p"], already_fen=[0])
    trace = evaluation.judge(inputs, p, flat_calculator).loc[1, "trace"]
    assert [s["en"].split(" (actual")[0] for s in trace[:2]] == [
        f"condition not met: {Condition('employed_in_dongguan', 'is', True).describe()[1]}",
        f"condition not met: {Condition('level', 'at_least', 3).describe()[1]}",
    ]
    assert trace[2] == evaluation.NOT_ELIGIBLE_STEP


def test_a_fact_the_scheme_did_not_supply_fails_its_condition():
    p = policy([("insured", "is", True)])
    result = evaluation.judge(frame(cap_key=["p"], already_fen=[0]), p, flat_calculator)
    assert result["amount_fen"].tolist() == [0]


def test_eligible_rows_share_the_cap_in_row_order():
    result = evaluation.judge(
        frame(cap_key=["p", "q", "p"], already_fen=[0, 0, 0]), policy(), flat_calculator
    )
    assert result["amount_fen"].tolist() == [600, 600, 400]


def test_a_calculator_breaking_the_contract_is_caught():
    def negative(inputs, _policy):
        return pd.DataFrame({"amount_fen": -1, "trace": [[]] * len(inputs)}, index=inputs.index)

    def floats(inputs, _policy):
        return pd.DataFrame({"amount_fen": 1.5, "trace": [[]] * len(inputs)}, index=inputs.index)

    inputs = frame(cap_key=["p"], already_fen=[0])
    with pytest.raises(ValueError, match="negative"):
        evaluation.judge(inputs, policy(), negative)
    with pytest.raises(ValueError, match="not integer fen"):
        evaluation.judge(inputs, policy(), floats)


def test_the_plan_groups_by_version_in_effective_order_then_claim_id():
    old = stored(policy(version=1, effective_from="2022-01-01"), 11)
    new = stored(policy(version=2, effective_from="2024-01-01"), 12)
    basis = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "basis_date": pd.to_datetime(
                ["2024-01-01", "2023-12-31", "2021-06-01", "2025-01-01", "2022-01-01"]
            ),
        }
    )
    chunks = calculation.plan(basis, [new, old], "skill_level", chunk=1)
    assert [(s.id if s else None, ids.tolist()) for s, ids in chunks] == [
        (None, [3]),  # no version covers 2021
        (11, [2]),
        (11, [5]),
        (12, [1]),
        (12, [4]),
    ]
    chunks = calculation.plan(basis, [new, old], "skill_level")
    assert [(s.id if s else None, ids.tolist()) for s, ids in chunks] == [
        (None, [3]),
        (11, [2, 5]),
        (12, [1, 4]),
    ]
    assert calculation.plan(basis.iloc[0:0], [old], "skill_level") == []


def test_inputs_rows_as_json():
    inputs = pd.DataFrame(
        {
            "n": [1, 2],
            "f": [1.0, np.nan],
            "x": [0.5, 1.25],
            "day": pd.to_datetime(["2024-03-01", None]),
            "moment": pd.to_datetime(["2024-03-01 10:30:00", "2024-03-02 00:00:00"]),
            "s": pd.Series(["百校千人", None], dtype="str"),
            "i": pd.array([3, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "o": [{"k": np.int64(5)}, date(2024, 1, 2)],
            "flag": [True, False],
        }
    )
    rows = [json.loads(r) for r in json_text.rows_as_json_array(inputs).to_pylist()]
    assert rows[0] == {
        "n": 1, "f": 1, "x": 0.5, "day": "2024-03-01", "moment": "2024-03-01T10:30:00",
        "s": "百校千人", "i": 3, "b": True, "o": {"k": 5}, "flag": True,
    }  # fmt: skip
    assert rows[1] == {
        "n": 2, "f": None, "x": 1.25, "day": None, "moment": "2024-03-02T00:00:00",
        "s": None, "i": None, "b": None, "o": "2024-01-02", "flag": False,
    }  # fmt: skip
    assert (
        "百校千人" in json_text.rows_as_json_array(inputs).to_pylist()[0]
    )  # readable, not \\u-escaped
    assert json_text.rows_as_json_array(inputs.iloc[0:0]).to_pylist() == []


def _traces_as_json(items: list) -> list[str]:
    """Each trace as its JSON text, through json_text.distinct_lists_as_json."""
    codes, texts = json_text.distinct_lists_as_json(items)
    return [texts[c] for c in codes]


def test_traces_as_json_lines_keep_newlines_inside_texts_escaped():
    lines = _traces_as_json([[{"zh": "一\n二", "en": 'a "b"'}], []])
    assert [json.loads(line) for line in lines] == [[{"zh": "一\n二", "en": 'a "b"'}], []]


def test_no_policy_trace_names_the_date():
    assert evaluation.no_policy_trace(date(2019, 6, 1))[0]["en"] == (
        "no version of the policy is in force on the basis date 2019-06-01: amount 0"
    )


def test_inputs_json_escapes_awkward_strings_and_keeps_numbers_exact():
    inputs = pd.DataFrame(
        {
            "quote": ['a "b"', "plain"],
            "slash": ["x\\y", "控制\x01"],
            "big": [2.0**60, 1.0],
            "inf": [np.inf, 2.0],
            "none": [None, None],
            "list": [[1, 2], []],
        }
    )
    rows = [json.loads(r) for r in json_text.rows_as_json_array(inputs).to_pylist()]
    assert rows[0] == {
        "quote": 'a "b"', "slash": "x\\y", "big": 2.0**60, "inf": None, "none": None,
        "list": [1, 2],
    }  # fmt: skip
    assert rows[1] == {
        "quote": "plain", "slash": "控制\x01", "big": 1.0, "inf": 2, "none": None, "list": [],
    }  # fmt: skip


def test_traces_sharing_steps_are_encoded_once_and_stay_right():
    step = {"zh": "上限", "en": "cap"}
    other = {"zh": "另", "en": "other"}
    lines = _traces_as_json([[step], [step], [step, other], [other], []])
    assert [json.loads(x) for x in lines] == [[step], [step], [step, other], [other], []]
    shared = [[step, other] for _ in range(10)] + [[other], [step, other]]
    assert [json.loads(x) for x in _traces_as_json(shared)] == shared


def test_results_keep_the_claims_order_and_store_empty_inputs_for_claims_without():
    index = pd.Index([11, 12, 13], name="id")
    steps = [{"zh": "甲", "en": "a"}]
    priced = calculation.Priced(
        amount_fen=pd.Series([600, 0, 400], index=index),
        trace=pd.Series([steps, [evaluation.NO_INPUTS_TRACE], steps], index=index),
        cap_key=pd.Series(["k:1", None, "k:1"], index=index, dtype=object),
        inputs=frame(level=[3, 4], cap_key=["k:1", "k:1"]).set_axis(pd.Index([11, 13], name="id")),
        version_id=5,
    )
    results = calculation.results_frame(priced)
    assert results.rows["id"].tolist() == [11, 12, 13]
    assert results.rows["policy_version"].tolist() == [5, 5, 5]
    assert results.rows["cap_key"].tolist() == ["k:1", None, "k:1"]
    # Values in the inputs, their names stored once; a claim without inputs: {}, unnamed.
    assert [json.loads(t) for t in results.inputs.to_pylist()] == [[3, "k:1"], {}, [4, "k:1"]]
    named = results.rows["input_names"].tolist()
    assert named[0] == named[2] and named[1] is None
    assert json.loads(results.input_names[named[0]]) == ["level", "cap_key"]
    shown = json_text.named_values_as_object(results.input_names[named[0]], '[3,"k:1"]')
    assert json.loads(shown) == {"level": 3, "cap_key": "k:1"}
    digests = results.rows["trace_digest"].tolist()
    assert digests[0] == digests[2] != digests[1]
    assert json.loads(results.traces[digests[0]]) == steps


def test_a_runs_result_sums_its_lanes_with_versions_in_processing_order():
    versions = [stored(policy(version=2, effective_from="2024-01-01"), 8), stored(policy(), 7)]
    lanes = [
        {"claims": 2, "total_fen": 900, "zero": 1, "no_policy": 0, "skipped": 1,
         "policy_versions": [8]},
        {"claims": 3, "total_fen": 100, "zero": 0, "no_policy": 2, "skipped": 0,
         "policy_versions": [8, 7]},
    ]  # fmt: skip
    assert calculation.summed("skill_level", lanes, versions) == {
        "scheme": "skill_level", "claims": 5, "total_fen": 1000, "zero": 1, "no_policy": 2,
        "skipped": 1, "policy_versions": [7, 8],
    }  # fmt: skip
