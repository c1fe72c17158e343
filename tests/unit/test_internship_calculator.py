"""The internship calculator, pure: proration rules, the month limit, the cap per intern
across hosts and earlier claims, rounding to the fen, and the bilingual trace."""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np
import pandas as pd
import pytest

from subsidies.internships.calculator import base_amounts, calculate, months_held, yuan
from subsidies.policies.documents import DEFAULTS_DIR, Policy, parse

RAW = tomllib.loads((DEFAULTS_DIR / "internship.v1.toml").read_text(encoding="utf-8"))


def policy(**parameters: Any) -> Policy:
    raw = {**RAW, "parameters": {**RAW["parameters"], **parameters}}
    return parse(raw, "test")


PROGRAMME_IDS = {"百校千人-2026": 1, "莞训-2026": 2}


def frame(rows: list[dict[str, Any]], start_id: int = 1) -> pd.DataFrame:
    """Rows of inputs; defaults: intern 1 in 百校千人-2026, a full 31-day month."""
    full = [
        {
            "person_id": 1,
            "programme": "百校千人-2026",
            "days_attended": 31,
            "days_in_month": 31,
            "month_index": 2026 * 12 + i,
            "months_held": 0,
            "already_fen": 0,
            **row,
        }
        for i, row in enumerate(rows)
    ]
    columns = ["person_id", "programme", "days_attended", "days_in_month", "month_index"]
    columns += ["months_held"]
    columns += ["already_fen", *sorted({k for r in rows for k in r} - {*columns, "already_fen"})]
    out = pd.DataFrame(
        full, index=pd.Index(range(start_id, start_id + len(full)), name="id"), columns=columns
    )
    out["programme_id"] = out["programme"].map(PROGRAMME_IDS)
    out["cap_key"] = "internship:" + out["person_id"].astype(str) + ":" + out["programme"]
    return out


def amounts(result: pd.DataFrame) -> list[int]:
    return result["amount_fen"].tolist()


def texts(result: pd.DataFrame, claim_id: int, language: str = "en") -> str:
    return " | ".join(step[language] for step in result.loc[claim_id, "trace"])


def test_three_full_months_pay_exactly_nine_thousand():
    result = calculate(frame([{}, {"days_in_month": 30, "days_attended": 30}, {}]), policy())
    assert result["amount_fen"].dtype == np.int64
    assert amounts(result) == [300_000, 300_000, 300_000]
    assert int(result["amount_fen"].sum()) == 900_000
    zh = texts(result, 3, "zh")
    assert "3,000 元/月 × 31/31 天 = 3,000 元" in zh
    assert "每名实习生上限 9,000 元，已计 6,000 元；本月 3,000 元" in zh
    en = texts(result, 3)
    assert "3,000 yuan a month x 31/31 days = 3,000" in en
    assert "cap 9,000 per intern, 6,000 already" in en
    assert "month 3 of this intern in 百校千人-2026" in en


def test_months_of_earlier_claims_count_towards_the_limit():
    result = calculate(frame([{"months_held": 2}, {"months_held": 2}]), policy())
    assert amounts(result) == [300_000, 0]
    assert "month 3 of this intern" in texts(result, 1)
    assert "month 4 of this intern" in texts(result, 2)


def test_months_held_counts_months_that_pay_whichever_month_they_are():
    run = pd.DataFrame({"cap_key": ["a", "a", "b", "c"], "month_index": [10, 13, 10, 10]})
    others = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "cap_key": ["a", "a", "a", "b", "x", "c"],
            "month_index": [9, 11, 14, 12, 1, 11],
            "amount_fen": [300_000, 300_000, 300_000, 150_000, 300_000, 0],
        }
    )
    # a@10: 9 (earlier), 11 and 14 (later, paying); a@13: the same three; b@10: 12
    # (later, paying); c@10: 11 paid nothing.
    assert months_held(run, others).tolist() == [3, 3, 1, 0]
    assert months_held(run, others.iloc[0:0]).tolist() == [0, 0, 0, 0]


def test_months_not_calculated_yet_hold_a_place_only_before_the_row():
    run = pd.DataFrame({"cap_key": ["a"], "month_index": [10]})
    others = pd.DataFrame(
        {"id": [1, 2], "cap_key": ["a", "a"], "month_index": [9, 11], "amount_fen": [np.nan] * 2}
    )
    assert months_held(run, others).tolist() == [1]


def test_a_late_reported_first_month_after_three_paid_months_pays_nothing():
    result = calculate(frame([{"months_held": 3}]), policy())
    assert amounts(result) == [0]
    assert "month 4 of this intern" in texts(result, 1)


def test_a_fourth_month_pays_nothing_and_says_why():
    result = calculate(frame([{}, {}, {}, {}]), policy())
    assert amounts(result) == [300_000, 300_000, 300_000, 0]
    assert "month 4 of this intern in 百校千人-2026: at most 3 months pay, so 0" in texts(result, 4)
    assert "超过最多 3 个月，本月 0 元" in texts(result, 4, "zh")


def test_the_month_limit_holds_even_when_the_cap_has_room():
    # Partial months leave room under the cap; a fourth month still pays nothing.
    result = calculate(frame([{"days_attended": 10}, {}, {}, {}]), policy())
    assert amounts(result) == [96_774, 300_000, 300_000, 0]


@pytest.mark.parametrize(
    ("days", "days_in_month", "expected"),
    [
        (31, 31, 300_000),
        (20, 31, 193_548),  # 193,548.38 fen rounds down
        (10, 31, 96_774),  # 96,774.19
        (1, 31, 9_677),  # 9,677.41
        (30, 31, 290_322),  # 290,322.58: one day short of a full month
        (28, 28, 300_000),  # February
        (29, 29, 300_000),  # February of a leap year
        (1, 28, 10_714),  # 10,714.28
        (15, 30, 150_000),
    ],
)
def test_calendar_days_prorate_and_round_down_to_the_fen(days, days_in_month, expected):
    result = calculate(frame([{"days_attended": days, "days_in_month": days_in_month}]), policy())
    assert amounts(result) == [expected]
    assert expected == 300_000 * days // days_in_month
    if days < days_in_month:
        assert "rounded down to the fen" in texts(result, 1)


@pytest.mark.parametrize(
    ("days", "days_in_month", "expected"),
    [(31, 31, 300_000), (30, 31, 0), (1, 30, 0), (28, 28, 300_000), (30, 30, 300_000)],
)
def test_whole_months_pay_only_a_full_month(days, days_in_month, expected):
    result = calculate(
        frame([{"days_attended": days, "days_in_month": days_in_month}]),
        policy(proration="whole_months"),
    )
    assert amounts(result) == [expected]
    if expected == 0:
        assert "only whole months pay: 0" in texts(result, 1)


@pytest.mark.parametrize(
    ("days", "expected"), [(1, 150_000), (14, 150_000), (15, 300_000), (16, 300_000), (31, 300_000)]
)
def test_half_or_full_splits_at_fifteen_days(days, expected):
    result = calculate(frame([{"days_attended": days}]), policy(proration="half_or_full"))
    assert amounts(result) == [expected]
    en = texts(result, 1)
    assert ("under 15" in en) == (days < 15)


def test_half_of_an_odd_rate_rounds_down_to_the_fen():
    p = policy(proration="half_or_full", monthly_rate_fen=300_001, cap_per_intern_fen=900_003)
    result = calculate(frame([{"days_attended": 14}]), p)
    assert amounts(result) == [150_000]


def test_the_cap_holds_across_two_hosts():
    # Two hosts (two placements) report months of one intern in one programme; a policy
    # allowing 4 months makes the cap, not the month limit, stop the fourth.
    p = policy(max_months=4)
    rows = frame(
        [
            {"placement_id": 10},  # host A
            {"placement_id": 10},
            {"placement_id": 20},  # host B
            {"placement_id": 20},
        ]
    )
    result = calculate(rows, p)
    assert amounts(result) == [300_000, 300_000, 300_000, 0]
    assert "cap 9,000 per intern, 9,000 already: this month pays the remaining 0" in texts(
        result, 4
    )


def test_the_cap_pays_the_remainder_of_a_partial_history():
    p = policy(max_months=4)
    result = calculate(
        frame(
            [
                {"days_attended": 10},  # 967.74
                {},
                {},
                {},
            ]
        ),
        p,
    )
    assert amounts(result) == [96_774, 300_000, 300_000, 900_000 - 696_774]
    assert int(result["amount_fen"].sum()) == 900_000
    assert "this month pays the remaining 2,032.26" in texts(result, 4)
    assert "已计 6,967.74 元；本月只计余额 2,032.26 元" in texts(result, 4, "zh")


def test_already_paid_claims_count_against_the_cap():
    p = policy(max_months=4)
    rows = frame([{"months_held": 2, "already_fen": 600_000}])
    assert amounts(calculate(rows, p)) == [300_000]
    rows = frame([{"months_held": 2, "already_fen": 750_000}])
    result = calculate(rows, p)
    assert amounts(result) == [150_000]
    assert "cap 9,000 per intern, 7,500 already: this month pays the remaining 1,500" in texts(
        result, 1
    )
    rows = frame([{"months_held": 2, "already_fen": 900_000}])
    assert amounts(calculate(rows, p)) == [0]


def test_without_an_already_column_nothing_is_held():
    rows = frame([{}]).drop(columns=["already_fen"])
    assert amounts(calculate(rows, policy())) == [300_000]


def test_interns_and_programmes_have_separate_caps():
    p = policy(max_months=4)
    rows = frame(
        [
            {"person_id": 1, "already_fen": 900_000},
            {"person_id": 2},
            {"person_id": 1, "programme": "莞训-2026"},
        ]
    )
    assert amounts(calculate(rows, p)) == [0, 300_000, 300_000]


def test_months_are_numbered_and_the_cap_fills_in_the_order_reported():
    """Input order is claim id order: the order the months were reported in, as across
    runs, where a month calculated earlier keeps what it was given."""
    p = policy(max_months=4)
    rows = frame(
        [
            {"month_index": 4},
            {"month_index": 2},
            {"month_index": 1, "days_attended": 10},
            {"month_index": 3},
        ]
    )
    result = calculate(rows, p)
    # 3,000 + 3,000 + 967.74; the month reported last gets the rest of the 9,000.
    assert amounts(result) == [300_000, 300_000, 96_774, 203_226]
    assert "month 4 of this intern" in texts(result, 4)


def test_a_month_paying_nothing_before_the_cap_takes_no_place():
    p = policy(proration="whole_months")
    rows = frame([{"days_attended": 20}, {}, {}, {}])  # a partial month pays 0
    result = calculate(rows, p)
    assert amounts(result) == [0, 300_000, 300_000, 300_000]
    assert "month 3 of this intern" in texts(result, 4)


def test_rows_keep_their_index_and_each_gets_its_own_trace_list():
    rows = frame([{}, {}], start_id=500)
    result = calculate(rows, policy())
    assert result.index.tolist() == [500, 501]
    first, second = result.loc[500, "trace"], result.loc[501, "trace"]
    assert first is not second
    assert all(set(step) == {"zh", "en"} for step in first)
    assert "百校千人" in first[0]["zh"] and "version 1" in first[0]["en"]


def test_no_rows_gives_an_empty_frame():
    result = calculate(frame([]), policy())
    assert len(result) == 0 and "amount_fen" in result and "trace" in result


def test_a_large_frame_matches_a_row_by_row_reference():
    rng = np.random.default_rng(4)
    n = 20_000
    rows = pd.DataFrame(
        {
            "person_id": rng.integers(1, 3_000, n),
            "programme": rng.choice(["百校千人-2026", "莞训-2026"], n),
            "days_in_month": rng.choice([28, 29, 30, 31], n),
            "already_fen": rng.choice([0, 0, 0, 300_000, 750_000, 900_000], n),
        },
        index=pd.Index(np.arange(1, n + 1), name="id"),
    )
    rows["days_attended"] = rng.integers(1, 32, n).clip(max=rows["days_in_month"])
    rows["programme_id"] = rows["programme"].map(PROGRAMME_IDS)
    rows["cap_key"] = "internship:" + rows["person_id"].astype(str) + ":" + rows["programme"]
    # The run gives every row of one cap key the same already_fen.
    rows["already_fen"] = rows.groupby("cap_key")["already_fen"].transform("first")
    rows["month_index"] = rows.groupby("cap_key").cumcount()
    rows["months_held"] = rows["person_id"] % 3  # the same for every row of an intern
    rows = rows.sample(frac=1, random_state=4)  # the order given: the order reported
    p = policy(max_months=4)
    result = calculate(rows, p)

    expected, held, ranks = {}, {}, {}
    for claim_id, row in rows.iterrows():  # every month pays something before the cap
        ranks[row.cap_key] = ranks.get(row.cap_key, 0) + 1
        number = row.months_held + ranks[row.cap_key]
        base = 300_000 * row.days_attended // row.days_in_month if number <= 4 else 0
        before = held.get(row.cap_key, row.already_fen)
        granted = max(0, min(base, 900_000 - before))
        held[row.cap_key] = before + granted
        expected[claim_id] = granted
    assert result["amount_fen"].to_dict() == expected


def test_base_amounts_never_pay_more_than_the_rate():
    p = policy().parameters
    days = np.array([40, 31, 0])
    assert base_amounts(days, np.array([31, 31, 31]), p).tolist() == [300_000, 300_000, 0]


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0"), (300_000, "3,000"), (193_548, "1,935.48"), (5, "0.05"), (900_000_00, "900,000")],
)
def test_yuan_formatting(fen, text):
    assert yuan(fen) == text


def test_a_programme_below_the_policy_binds_and_one_above_is_held_to_the_policy():
    rows = frame([{}, {}, {}, {"programme": "莞训-2026"}, {"programme": "莞训-2026"}])
    rows["monthly_rate_fen"] = [200_000] * 3 + [500_000] * 2
    rows["max_months"] = [3] * 3 + [9] * 2
    rows["cap_per_intern_fen"] = [500_000] * 3 + [2_000_000] * 2
    result = calculate(rows, policy())
    # 2,000 + 2,000 + the 1,000 left of a 5,000 cap; the other at the policy's 3,000.
    assert amounts(result) == [200_000, 200_000, 100_000, 300_000, 300_000]
    assert result.index.tolist() == rows.index.tolist()
    assert "2,000 yuan a month x 31/31 days" in texts(result, 1)
    assert "cap 5,000 per intern, 4,000 already" in texts(result, 3)
    # A what-if of a lower policy cap binds both.
    assert amounts(calculate(rows, policy(cap_per_intern_fen=400_000))) == [
        200_000,
        200_000,
        0,
        300_000,
        100_000,
    ]
