"""The leading-talent calculators (pure): instalments, the per-person total, revoked
awards, the introduction window; traces in Chinese and English."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from subsidies.leading_talents import amounts
from subsidies.policies import documents


def _policy(scheme: str, on: date = date(2026, 3, 16)) -> documents.Policy:
    found = documents.version_for(documents.load_defaults(), scheme, on)
    assert found is not None
    return found


def living_inputs(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.index = pd.Index(frame.pop("id"), name="id")
    return frame


def row(claim_id, instalment, person=1, live=True, already=0):
    return {
        "id": claim_id,
        "award_number": "DGLT-2026-000001",
        "award_live": live,
        "instalment": instalment,
        "cap_key": f"leading_talent_living:person:{person}",
        "already_fen": already,
    }


def test_the_defaults_cover_2022_on_and_v2_carries_the_figures():
    v1 = _policy(amounts.LIVING, date(2025, 6, 1))
    v2 = _policy(amounts.LIVING, date(2026, 1, 1))
    assert (v1.version, v2.version) == (1, 2)
    assert v1.parameters == v2.parameters
    intro = _policy(amounts.INTRODUCTION, date(2030, 1, 1))
    assert intro.version == 2 and intro.parameters.window_months == 24


def test_each_instalment_pays_its_amount_with_a_trace():
    out = amounts.calculate_living(
        living_inputs([row(1, 1), row(2, 2), row(3, 3), row(4, 4)]), _policy(amounts.LIVING)
    )
    assert out["amount_fen"].tolist() == [10_000_000, 10_000_000, 10_000_000, 0]
    assert out["amount_fen"].dtype == np.int64
    trace = out.loc[2, "trace"]
    assert "第 2/3 期" in trace[1]["zh"] and "instalment 2 of 3" in trace[1]["en"]
    assert "东人社发〔2022〕20号" in trace[0]["zh"]
    assert "no instalment 4" in out.loc[4, "trace"][1]["en"]


def test_the_total_per_person_holds_across_claims():
    out = amounts.calculate_living(
        living_inputs([row(1, 3, already=25_000_000), row(2, 2, person=2, already=30_000_000)]),
        _policy(amounts.LIVING),
    )
    assert out["amount_fen"].tolist() == [5_000_000, 0]
    assert "pays the remaining 50,000" in out.loc[1, "trace"][2]["en"]


def test_a_revoked_award_pays_nothing():
    out = amounts.calculate_living(living_inputs([row(1, 1, live=False)]), _policy(amounts.LIVING))
    assert out["amount_fen"].tolist() == [0]
    assert "revoked" in out.loc[1, "trace"][1]["en"]


def test_no_rows():
    empty = living_inputs([row(1, 1)]).iloc[0:0]
    assert amounts.calculate_living(empty, _policy(amounts.LIVING)).empty


@pytest.mark.parametrize(
    ("started", "pays"),
    [
        ("2024-03-16", True),  # exactly 24 months before the award
        ("2024-03-15", False),
        ("2026-03-16", True),  # the award day
        ("2026-03-17", False),  # after the award
        (None, False),  # no employment with the enterprise
    ],
)
def test_the_introduction_window(started, pays):
    inputs = pd.DataFrame(
        {
            "award_number": ["DGLT-2026-000001"],
            "award_live": [True],
            "awarded_on": pd.to_datetime(["2026-03-16"]),
            "started_on": pd.to_datetime([started]),
            "cap_key": ["leading_talent_introduction:person:1"],
            "already_fen": [0],
        },
        index=pd.Index([7], name="id"),
    )
    out = amounts.calculate_introduction(inputs, _policy(amounts.INTRODUCTION))
    assert out.loc[7, "amount_fen"] == (100_000_000 if pays else 0)
    assert out.loc[7, "trace"][1]["zh"] and out.loc[7, "trace"][1]["en"]


def test_one_introduction_reward_per_talent():
    inputs = pd.DataFrame(
        {
            "award_number": ["A", "B"],
            "award_live": [True, True],
            "awarded_on": pd.to_datetime(["2026-03-16", "2026-03-16"]),
            "started_on": pd.to_datetime(["2025-01-01", "2025-01-01"]),
            "cap_key": ["leading_talent_introduction:person:1"] * 2,
            "already_fen": [0, 0],
        },
        index=pd.Index([1, 2], name="id"),
    )
    out = amounts.calculate_introduction(inputs, _policy(amounts.INTRODUCTION))
    assert out["amount_fen"].tolist() == [100_000_000, 0]
