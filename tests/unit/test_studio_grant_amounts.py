"""The master studio grant (pure): the policy's amount for the studio's level, and a
zero with the reason when the studio is revoked, not the claimant's, or of another
level than claimed."""

from __future__ import annotations

import pandas as pd
import pytest

from subsidies.policies import documents
from subsidies.studio_grants.amounts import calculate, dedupe_key

YUAN = 100


@pytest.fixture(scope="module")
def policy() -> documents.Policy:
    [found] = [p for p in documents.load_defaults() if p.scheme == "studio_grant"]
    return found


def row(claim_id: int, level: str = "city", **changes) -> dict:
    return {
        "id": claim_id,
        "studio_id": claim_id + 100,
        "claimed_level": level,
        "studio_level": level,
        "studio_status": "established",
        "host_is_claimant": True,
        **changes,
    }


def run(policy, *rows: dict) -> pd.DataFrame:
    return calculate(pd.DataFrame(list(rows)).set_index("id"), policy)


@pytest.mark.parametrize(
    ("level", "fen"),
    [("city", 100_000 * YUAN), ("province", 200_000 * YUAN), ("national", 500_000 * YUAN)],
)
def test_each_level_pays_the_policy_amount(policy, level, fen):
    result = run(policy, row(1, level))
    assert result.loc[1, "amount_fen"] == fen and result["amount_fen"].dtype == "int64"
    assert result.loc[1, "trace"][0]["en"] == "under Skills master studio grant (version 1)"
    assert f"{fen // YUAN:,} yuan" in result.loc[1, "trace"][1]["en"]
    assert "技能大师工作室资助" in result.loc[1, "trace"][1]["zh"]


def test_a_revoked_studio_another_host_or_another_level_pays_nothing(policy):
    result = run(
        policy,
        row(1, studio_status="revoked"),
        row(2, host_is_claimant=False),
        row(3, "city", studio_level="province"),
        row(4, studio_status=None, studio_level=None, host_is_claimant=None),
        row(5),
    )
    assert result["amount_fen"].tolist() == [0, 0, 0, 0, 100_000 * YUAN]
    assert "revoked, not established" in result.loc[1, "trace"][1]["en"]
    assert "does not host" in result.loc[2, "trace"][1]["en"]
    assert "the studio is province" in result.loc[3, "trace"][1]["en"]
    assert "unknown, not established" in result.loc[4, "trace"][1]["en"]


def test_rows_of_one_case_share_their_trace_and_an_empty_run(policy):
    result = run(policy, row(1), row(2), row(3, "national"))
    assert result.loc[1, "trace"] is result.loc[2, "trace"]
    empty = calculate(pd.DataFrame(columns=list(row(1))).set_index("id"), policy)
    assert len(empty) == 0 and list(empty.columns) == ["amount_fen", "trace"]


def test_once_per_studio_and_level():
    assert dedupe_key(7, "city") == "studio_grant:7:city"
    assert dedupe_key(7, "province") != dedupe_key(7, "city")
