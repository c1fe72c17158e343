"""The skill-level subsidy calculator (pure): each level's amount, an upgrade paying the
difference (per person across occupations in the version in force, per occupation as the
policy's option), once per person per level, the 50,000-yuan cap across occupations."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from subsidies.policies import documents
from subsidies.skill_levels import amounts
from subsidies.skill_levels.amounts import calculate, dedupe_key, paid_levels, yuan

WELDER, ELECTRICIAN, FITTER = "6-18-02-04", "6-31-01-03", "6-20-01-01"
YUAN = 100


@pytest.fixture(scope="module")
def policy() -> documents.Policy:
    """The version in force: the difference per person, across occupations."""
    found = documents.version_for(documents.load_defaults(), "skill_level", date(2024, 1, 1))
    assert found is not None and found.parameters.upgrade_basis == "person"
    return found


@pytest.fixture(scope="module")
def per_occupation() -> documents.Policy:
    """Version 1, which names no basis: the difference within an occupation."""
    [found] = [p for p in documents.load_defaults() if p.scheme == "skill_level" and p.version == 1]
    assert found.parameters.upgrade_basis == "occupation"
    return found


def claim(
    claim_id: int,
    level: int | None,
    *,
    person: int = 1,
    occupation: str = WELDER,
    lower_paid_fen: int = 0,
    lower_paid_level: int | None = None,
    pending_level: int | None = None,
    earlier: tuple[tuple[int, int, str, int], ...] = (),
    person_pending_level: int | None = None,
    already_fen: int = 0,
    employed: bool = True,
    insured: bool = True,
    valid: bool = True,
) -> dict:
    return {
        "id": claim_id,
        "person_id": person,
        "certificate_id": claim_id + 1000,
        "occupation_code": occupation,
        "level": math.nan if level is None else level,
        "certificate_valid": valid,
        "employed_in_dongguan": employed,
        "insured": insured,
        "insured_months": 24,
        "hukou": "non_local",
        "age": 30,
        "lower_paid_fen": lower_paid_fen,
        "lower_paid_level": math.nan if lower_paid_level is None else lower_paid_level,
        "lower_pending_level": math.nan if pending_level is None else pending_level,
        # What the person's other claims hold, any level or occupation (facts.py).
        "person_paid_fen": sum(e[3] for e in earlier),
        "person_paid_level": min((e[1] for e in earlier), default=math.nan),
        "person_pending_level": math.nan if person_pending_level is None else person_pending_level,
        "earlier_paid": ";".join(":".join(map(str, e)) for e in earlier),
        "cap_key": f"skill_level:{person}",
        "already_fen": already_fen,
    }


def run(policy, *rows: dict) -> pd.DataFrame:
    return calculate(pd.DataFrame(list(rows)).set_index("id"), policy)


@pytest.mark.parametrize(
    ("level", "fen"),
    [(4, 1_000 * YUAN), (3, 3_000 * YUAN), (2, 8_000 * YUAN), (1, 15_000 * YUAN)],
)
def test_each_level_pays_its_amount(policy, level, fen):
    result = run(policy, claim(1, level))
    assert result.loc[1, "amount_fen"] == fen
    assert result["amount_fen"].dtype == "int64"
    first = result.loc[1, "trace"][0]
    assert first["zh"].endswith(f"{yuan(fen)} 元") and first["en"].endswith(f"{yuan(fen)} yuan")


def test_a_junior_worker_is_not_paid_under_the_default_policy(policy):
    # Level 5 fails "level at least 4" and has no amount either.
    assert paid_levels(policy.parameters) == [4, 3, 2, 1]
    assert run(policy, claim(1, 5)).loc[1, "amount_fen"] == 0


PER_PERSON = {
    "zh": "按人计算：每人每个等级资助一次，晋升补发与已享受最高等级的差额（不分工种）",
    "en": "basis: per person, once per level across occupations; an upgrade pays the "
    "difference from the highest level already paid",
}
PER_OCCUPATION = {
    "zh": "按工种计算：同一工种内晋升补发差额",
    "en": "basis: per occupation; an upgrade pays the difference within its occupation",
}


# -- per person (the version in force) ---------------------------------------------------


def test_an_upgrade_in_another_occupation_pays_the_difference_naming_the_claim(policy):
    # Senior worker paid as a welder (claim 7), technician reached as an electrician.
    earlier = ((7, 3, WELDER, 3_000 * YUAN),)
    result = run(
        policy,
        claim(1, 2, occupation=ELECTRICIAN, earlier=earlier, already_fen=3_000 * YUAN),
    )
    assert result.loc[1, "amount_fen"] == 5_000 * YUAN
    assert result.loc[1, "trace"] == [
        {"zh": "技师 8,000 元", "en": "technician 8,000 yuan"},
        PER_PERSON,
        {
            "zh": f"本人已享受 3,000 元：申领 7（{WELDER}，高级工，3,000 元）",
            "en": f"3,000 already paid by this person: claim 7 ({WELDER}, senior worker, 3,000)",
        },
        {"zh": "扣减 3,000 元，差额 5,000 元", "en": "less 3,000, difference 5,000"},
        {"zh": "每人上限 50,000 元，已计 3,000 元", "en": "cap 50,000 per person, 3,000 already"},
    ]


def test_the_same_level_in_another_occupation_pays_nothing_and_says_why(policy):
    earlier = ((7, 3, WELDER, 3_000 * YUAN),)
    stored = run(policy, claim(1, 3, occupation=ELECTRICIAN, earlier=earlier))
    assert stored.loc[1, "amount_fen"] == 0
    assert stored.loc[1, "trace"][3] == {
        "zh": "已享受的最高等级为高级工（3,000 元），不低于本等级，扣减 3,000 元后差额 0 元",
        "en": "senior worker (3,000) already paid, at or above this level: less 3,000, "
        "difference 0",
    }
    # The same in one run: the first pays, the second deducts it by its id.
    together = run(policy, claim(1, 3, occupation=WELDER), claim(2, 3, occupation=ELECTRICIAN))
    assert together["amount_fen"].tolist() == [3_000 * YUAN, 0]
    assert together.loc[2, "trace"][2]["en"] == (
        f"3,000 already paid by this person: claim 1 ({WELDER}, senior worker, 3,000)"
    )


def test_a_lower_level_after_a_higher_one_was_paid_pays_nothing(policy):
    earlier = ((7, 2, WELDER, 8_000 * YUAN),)
    result = run(policy, claim(1, 3, occupation=ELECTRICIAN, earlier=earlier))
    assert result.loc[1, "amount_fen"] == 0
    assert (
        "technician (8,000) already paid, at or above this level"
        in (result.loc[1, "trace"][3]["en"])
    )


def test_levels_of_several_occupations_in_one_run_climb_by_differences(policy):
    # Technician as an electrician has the lower id: still taken after senior worker.
    result = run(policy, claim(1, 2, occupation=ELECTRICIAN), claim(2, 3, occupation=WELDER))
    assert result["amount_fen"].tolist() == [5_000 * YUAN, 3_000 * YUAN]
    assert result.loc[1, "trace"][2]["en"].endswith(f"claim 2 ({WELDER}, senior worker, 3,000)")
    three = run(
        policy,
        claim(1, 4, occupation=WELDER),
        claim(2, 3, occupation=ELECTRICIAN),
        claim(3, 1, occupation=FITTER),
    )
    assert three["amount_fen"].tolist() == [1_000 * YUAN, 2_000 * YUAN, 12_000 * YUAN]


def test_a_pending_lower_level_in_another_occupation_counts_for_its_amount(policy):
    # Technician first, while senior worker in another occupation waits: 8,000 - 3,000.
    first = run(policy, claim(1, 2, occupation=ELECTRICIAN, person_pending_level=3))
    assert first.loc[1, "amount_fen"] == 5_000 * YUAN
    assert first.loc[1, "trace"][2] == {
        "zh": "本人高级工申领在办，按 3,000 元计",
        "en": "senior worker is being claimed by this person, counted as 3,000",
    }
    # Then senior worker: the technician's 5,000 leaves 3,000 to the highest level's
    # 8,000, so it pays its 3,000 and the person has 8,000 in all.
    earlier = ((1, 2, ELECTRICIAN, 5_000 * YUAN),)
    then = run(policy, claim(2, 3, occupation=WELDER, earlier=earlier))
    assert then.loc[2, "amount_fen"] == 3_000 * YUAN


def test_an_upgrade_after_payments_in_two_occupations_tops_up_to_the_new_level(policy):
    # Paid per occupation before: 3,000 as a welder and 8,000 as an electrician.
    earlier = ((7, 3, WELDER, 3_000 * YUAN), (8, 2, ELECTRICIAN, 8_000 * YUAN))
    result = run(policy, claim(1, 1, occupation=FITTER, earlier=earlier))
    assert result.loc[1, "amount_fen"] == 4_000 * YUAN  # 15,000 in all
    assert result.loc[1, "trace"][2]["en"] == (
        f"11,000 already paid by this person: claim 7 ({WELDER}, senior worker, 3,000); "
        f"claim 8 ({ELECTRICIAN}, technician, 8,000)"
    )


def test_the_per_person_basis_ignores_the_per_occupation_figures(policy):
    # Only the person's figures count: the per-occupation ones would pay 5,000 here.
    result = run(policy, claim(1, 2, lower_paid_fen=3_000 * YUAN, lower_paid_level=3))
    assert result.loc[1, "amount_fen"] == 8_000 * YUAN


# -- per occupation (the policy's option; version 1) -------------------------------------


def test_per_occupation_both_occupations_pay_in_full(per_occupation):
    result = run(
        per_occupation, claim(1, 3, occupation=WELDER), claim(2, 2, occupation=ELECTRICIAN)
    )
    assert result["amount_fen"].tolist() == [3_000 * YUAN, 8_000 * YUAN]
    assert result.loc[2, "trace"][1] == PER_OCCUPATION
    lower = run(
        per_occupation,
        claim(1, 3, occupation=ELECTRICIAN, earlier=((7, 2, WELDER, 8_000 * YUAN),)),
    )
    assert lower.loc[1, "amount_fen"] == 3_000 * YUAN


def test_per_occupation_an_upgrade_pays_the_difference_in_its_occupation(per_occupation):
    earlier = ((7, 3, WELDER, 3_000 * YUAN), (8, 4, ELECTRICIAN, 1_000 * YUAN))
    result = run(
        per_occupation,
        claim(
            1,
            2,
            lower_paid_fen=3_000 * YUAN,
            lower_paid_level=3,
            earlier=earlier,
            already_fen=4_000 * YUAN,
        ),
    )
    assert result.loc[1, "amount_fen"] == 5_000 * YUAN
    # Only the welder's claim is deducted, and named.
    assert result.loc[1, "trace"] == [
        {"zh": "技师 8,000 元", "en": "technician 8,000 yuan"},
        PER_OCCUPATION,
        {
            "zh": f"同工种已享受 3,000 元：申领 7（{WELDER}，高级工，3,000 元）",
            "en": f"3,000 already paid in this occupation: claim 7 ({WELDER}, senior worker, "
            "3,000)",
        },
        {"zh": "扣减 3,000 元，差额 5,000 元", "en": "less 3,000, difference 5,000"},
        {"zh": "每人上限 50,000 元，已计 4,000 元", "en": "cap 50,000 per person, 4,000 already"},
    ]


def test_per_occupation_both_levels_in_one_run_pay_the_amount_of_the_higher_one(
    per_occupation,
):
    # The technician claim comes first (lower id): the senior-worker claim still counts.
    result = run(per_occupation, claim(1, 2), claim(2, 3))
    assert result["amount_fen"].tolist() == [5_000 * YUAN, 3_000 * YUAN]
    assert result.loc[1, "trace"][2]["zh"] == (
        f"同工种已享受 3,000 元：申领 2（{WELDER}，高级工，3,000 元）"
    )


def test_three_levels_in_one_run_climb_by_differences(policy, per_occupation):
    for version in (policy, per_occupation):
        result = run(version, claim(1, 4), claim(2, 3), claim(3, 1))
        assert result["amount_fen"].tolist() == [1_000 * YUAN, 2_000 * YUAN, 12_000 * YUAN]


def test_per_occupation_a_pending_lower_level_counts_whichever_is_calculated_first(
    per_occupation,
):
    # Technician first, while the senior-worker claim waits: 8,000 - 3,000.
    first = run(per_occupation, claim(1, 2, pending_level=3))
    assert first.loc[1, "amount_fen"] == 5_000 * YUAN
    assert first.loc[1, "trace"][2] == {
        "zh": "同工种高级工申领在办，按 3,000 元计",
        "en": "senior worker is being claimed in this occupation, counted as 3,000",
    }
    # Then the senior-worker claim: nothing lower, its full 3,000. Together 8,000.
    then = run(per_occupation, claim(2, 3, already_fen=5_000 * YUAN))
    assert then.loc[2, "amount_fen"] == 3_000 * YUAN


def test_per_occupation_stored_and_pending_lower_levels_count_for_the_larger(per_occupation):
    # Intermediate paid 1,000; senior worker pending (it will pay 2,000): 8,000 - 3,000.
    result = run(
        per_occupation,
        claim(1, 2, lower_paid_fen=1_000 * YUAN, lower_paid_level=4, pending_level=3),
    )
    assert result.loc[1, "amount_fen"] == 5_000 * YUAN
    # Intermediate pending, senior worker paid 3,000: the stored 3,000 is larger.
    result = run(
        per_occupation,
        claim(1, 2, lower_paid_fen=3_000 * YUAN, lower_paid_level=3, pending_level=4),
    )
    assert result.loc[1, "amount_fen"] == 5_000 * YUAN
    assert "在办" not in result.loc[1, "trace"][2]["zh"]
    # Intermediate in this run, senior worker pending, technician in this run.
    result = run(per_occupation, claim(1, 4), claim(2, 2, pending_level=3))
    assert result["amount_fen"].tolist() == [1_000 * YUAN, 5_000 * YUAN]


def test_stored_lower_levels_more_than_the_level_pay_nothing_never_negative(policy, per_occupation):
    result = run(per_occupation, claim(1, 4, lower_paid_fen=3_000 * YUAN, lower_paid_level=5))
    assert result.loc[1, "amount_fen"] == 0
    result = run(policy, claim(1, 4, earlier=((7, 5, WELDER, 3_000 * YUAN),)))
    assert result.loc[1, "amount_fen"] == 0


def test_the_cap_holds_across_occupations(per_occupation):
    # 15,000 x 3 occupations = 45,000; a fourth senior technician would be 60,000.
    rows = [
        claim(1, 1, occupation=WELDER),
        claim(2, 1, occupation=ELECTRICIAN),
        claim(3, 1, occupation=FITTER),
        claim(4, 1, occupation="6-05-01-01"),
    ]
    result = run(per_occupation, *rows)
    assert result["amount_fen"].tolist() == [15_000 * YUAN] * 3 + [5_000 * YUAN]
    assert result["amount_fen"].sum() == 50_000 * YUAN
    assert result.loc[4, "trace"][-1] == {
        "zh": "每人上限 50,000 元，已计 45,000 元，核定 5,000 元",
        "en": "cap 50,000 per person, 45,000 already; 5,000 granted",
    }


def test_exactly_at_the_cap_pays_in_full_and_one_fen_over_is_cut(policy):
    exact = run(policy, claim(1, 1, already_fen=35_000 * YUAN))
    assert exact.loc[1, "amount_fen"] == 15_000 * YUAN
    assert "核定" not in exact.loc[1, "trace"][-1]["zh"]
    over = run(policy, claim(1, 1, already_fen=35_000 * YUAN + 1))
    assert over.loc[1, "amount_fen"] == 15_000 * YUAN - 1
    full = run(policy, claim(1, 4, already_fen=50_000 * YUAN))
    assert full.loc[1, "amount_fen"] == 0


def test_the_cap_is_per_person(policy):
    result = run(
        policy,
        claim(1, 1, person=1, already_fen=45_000 * YUAN),
        claim(2, 1, person=2, already_fen=0),
    )
    assert result["amount_fen"].tolist() == [5_000 * YUAN, 15_000 * YUAN]


@pytest.mark.parametrize(
    "changes",
    [{"employed": False}, {"insured": False}, {"level": None}],
)
def test_conditions_not_met_pay_nothing(policy, changes):
    level = changes.pop("level", 3)
    result = run(policy, claim(1, level, **changes), claim(2, 2))
    assert result.loc[1, "amount_fen"] == 0
    assert result.loc[1, "trace"] == [
        {"zh": "不符合政策条件，不予资助", "en": "policy conditions not met: nothing is paid"},
        PER_PERSON,
    ]
    # An ineligible lower level does not reduce the higher one.
    assert result.loc[2, "amount_fen"] == 8_000 * YUAN


def test_a_revoked_or_foreign_certificate_pays_nothing(policy):
    result = run(policy, claim(1, 3, valid=False))
    assert result.loc[1, "amount_fen"] == 0
    assert "not valid" in result.loc[1, "trace"][0]["en"]


def test_recalculating_gives_the_same_result(policy):
    rows = [claim(1, 3), claim(2, 2), claim(3, 1, person=2, already_fen=40_000 * YUAN)]
    assert run(policy, *rows).equals(run(policy, *rows))


def test_an_empty_run(policy):
    empty = pd.DataFrame(columns=list(claim(1, 3))).set_index("id")
    result = calculate(empty, policy)
    assert len(result) == 0 and list(result.columns) == ["amount_fen", "trace"]


def test_keys_name_the_person_and_the_level_not_the_occupation():
    assert dedupe_key(7, 3) == "skill_level:7:3"
    assert amounts.cap_key(7) == "skill_level:7"


def test_yuan_is_exact():
    assert yuan(800_000) == "8,000" and yuan(800_050) == "8,000.50" and yuan(1) == "0.01"


@pytest.mark.parametrize("basis", ["person", "occupation"])
def test_a_large_run_gives_each_person_what_a_run_of_their_claims_alone_gives(
    policy, per_occupation, basis
):
    # Rows of one case share their trace (built once); people never affect each other,
    # so the whole run must agree with one run per person, row by row.
    version = policy if basis == "person" else per_occupation
    rng = np.random.default_rng(11)
    rows = []
    for claim_id in range(1, 601):
        person = int(rng.integers(1, 150))
        lower_level = [None, 5, 4][int(rng.integers(0, 3))]
        rows.append(
            claim(
                claim_id,
                [None, 5, 4, 3, 2, 1][int(rng.integers(0, 6))],
                person=person,
                occupation=[WELDER, ELECTRICIAN][int(rng.integers(0, 2))],
                lower_paid_fen=0 if lower_level is None else 1_000 * YUAN,
                lower_paid_level=lower_level,
                pending_level=[None, None, 4, 3][int(rng.integers(0, 4))],
                # As the facts give them: the same for each claim of the person.
                earlier=((10_000 + person, 4, WELDER, 1_000 * YUAN),) if person % 5 == 0 else (),
                person_pending_level=[None, None, 4, 3][person % 4],
                already_fen=(person % 4) * 15_000 * YUAN,
                employed=bool(rng.random() < 0.9),
                valid=bool(rng.random() < 0.95),
            )
        )
    frame = pd.DataFrame(rows).set_index("id")
    whole = calculate(frame, version)
    for _, group in frame.groupby("person_id"):
        alone = calculate(group, version)
        assert whole.loc[group.index, "amount_fen"].tolist() == alone["amount_fen"].tolist()
        assert whole.loc[group.index, "trace"].tolist() == alone["trace"].tolist()
    # Same figures, same trace object: built once per case.
    assert whole["trace"].map(id).nunique() < len(whole) // 2
