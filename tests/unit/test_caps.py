"""The grouped cumulative cap (subsidies.calculators.caps) at its boundaries."""

import numpy as np
import pytest

from subsidies.calculators.caps import apply_cap

CAP = 900_000  # 9,000 yuan in fen


def cap(amounts, groups, already, cap_fen=CAP):
    capped, held = apply_cap(
        np.array(amounts, dtype=np.int64), np.array(groups), np.array(already), cap_fen
    )
    assert capped.dtype == np.int64 and held.dtype == np.int64
    return capped.tolist(), held.tolist()


def test_exactly_at_the_cap_pays_in_full():
    assert cap([300_000] * 3, ["a"] * 3, [0] * 3) == (
        [300_000, 300_000, 300_000],
        [0, 300_000, 600_000],
    )


def test_a_fourth_month_over_the_cap_pays_nothing():
    capped, held = cap([300_000] * 4, ["a"] * 4, [0] * 4)
    assert capped == [300_000, 300_000, 300_000, 0]
    assert held[3] == CAP


def test_one_fen_over_the_cap_loses_exactly_one_fen():
    capped, held = cap([450_000, 450_001], ["a", "a"], [0, 0])
    assert capped == [450_000, 450_000]  # asked 450,001: one fen over the cap
    assert held == [0, 450_000]
    assert sum(capped) == CAP


def test_one_fen_under_the_cap_leaves_one_fen():
    capped, _ = cap([899_999, 5], ["a", "a"], [0, 0])
    assert capped == [899_999, 1]


def test_groups_are_capped_separately_in_the_order_given():
    capped, held = cap(
        [600_000, 600_000, 600_000, 600_000, 100_000],
        ["a", "b", "a", "b", "c"],
        [0, 0, 0, 0, 0],
    )
    assert capped == [600_000, 600_000, 300_000, 300_000, 100_000]
    assert held == [0, 0, 600_000, 600_000, 0]


def test_order_within_a_group_decides_who_gets_the_remainder():
    assert cap([800_000, 300_000], ["a", "a"], [0, 0])[0] == [800_000, 100_000]
    assert cap([300_000, 800_000], ["a", "a"], [0, 0])[0] == [300_000, 600_000]


def test_what_other_claims_hold_counts_first():
    capped, held = cap([300_000, 300_000], ["a", "a"], [500_000, 500_000])
    assert capped == [300_000, 100_000]
    assert held == [500_000, 800_000]


def test_a_group_already_at_the_cap_gets_nothing():
    capped, held = cap([1, 300_000], ["a", "a"], [CAP, CAP])
    assert capped == [0, 0]
    assert held == [CAP, CAP]


def test_a_group_already_over_the_cap_gets_nothing_and_nothing_negative():
    capped, held = cap([300_000], ["a"], [CAP + 5])
    assert capped == [0]
    assert held == [CAP + 5]


def test_zero_amounts_take_nothing():
    assert cap([0, 900_000, 0], ["a", "a", "a"], [0, 0, 0])[0] == [0, 900_000, 0]


def test_integer_keys_and_an_empty_input():
    capped, _ = apply_cap(np.array([5, 6]), np.array([7, 7]), np.zeros(2), 10)
    assert capped.tolist() == [5, 5]
    capped, held = apply_cap(np.array([], dtype=np.int64), np.array([]), np.array([]), 10)
    assert capped.tolist() == [] and held.tolist() == []


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        apply_cap(np.array([-1]), np.array(["a"]), np.array([0]), 10)


def test_agrees_with_a_row_by_row_reference():
    rng = np.random.default_rng(7)
    n = 2_000
    amounts = rng.integers(0, 400_000, n)
    groups = rng.integers(0, 50, n)
    already_by_group = rng.integers(0, 1_200_000, 50)
    already = already_by_group[groups]
    capped, held = apply_cap(amounts, groups, already, CAP)
    running = dict(enumerate(already_by_group.tolist()))
    for i in range(n):
        g = int(groups[i])
        assert held[i] == running[g]
        expected = max(0, min(int(amounts[i]), CAP - running[g]))
        assert capped[i] == expected
        running[g] += expected
