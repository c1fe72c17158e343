"""The declared condition vocabulary: checking conditions from documents, and evaluating
them over a frame of facts at their boundaries."""

import pandas as pd
import pytest

from subsidies.policies import vocabulary
from subsidies.policies.vocabulary import Condition


def cond(fact, op, value):
    condition, problem = vocabulary.check({"fact": fact, "op": op, "value": value}, "c")
    assert problem is None, problem
    return condition


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"fact": "shoe_size", "op": "is", "value": 1}, "c.fact: unknown fact 'shoe_size'"),
        ({"fact": "level", "op": "is", "value": 3}, "c.op: level takes at_least, not 'is'"),
        ({"fact": "level", "op": "at_least", "value": 6}, "c.value: a level is an integer 1"),
        ({"fact": "level", "op": "at_least", "value": True}, "c.value: a level is an integer 1"),
        ({"fact": "age", "op": "at_most", "value": "45"}, "c.value: must be a whole number"),
        ({"fact": "insured", "op": "is", "value": 1}, "c.value: must be true or false"),
        ({"fact": "hukou", "op": "is", "value": "mars"}, "c.value: must be one of local"),
        ({"fact": "hukou", "op": "in", "value": []}, "c.value: must be a list of local"),
        ({"fact": "age", "op": "at_most"}, "c: must be a table with exactly fact, op and value"),
        ("age <= 45", "c: must be a table"),
    ],
)
def test_check_names_the_field_and_the_problem(raw, problem):
    condition, found = vocabulary.check(raw, "c")
    assert condition is None
    assert found.startswith(problem)


def test_level_at_least_counts_lower_numbers_as_higher_levels():
    facts = pd.DataFrame({"level": [5, 4, 3, 2, 1, None]})
    result = vocabulary.evaluate((cond("level", "at_least", 3),), facts)
    assert result["eligible"].tolist() == [False, False, True, True, True, False]


def test_age_at_most_includes_the_boundary_and_unknown_fails():
    facts = pd.DataFrame({"age": [44, 45, 46, None]})
    result = vocabulary.evaluate((cond("age", "at_most", 45),), facts)
    assert result["eligible"].tolist() == [True, True, False, False]


def test_every_condition_must_pass_and_each_is_reported():
    facts = pd.DataFrame(
        {
            "insured_months": [24, 23, 30],
            "hukou": ["non_local", "non_local", "local"],
            "insured": [True, True, None],
        }
    )
    conditions = (
        cond("insured_months", "at_least", 24),
        cond("hukou", "in", ["non_local"]),
        cond("insured", "is", True),
    )
    result = vocabulary.evaluate(conditions, facts)
    assert result["c0"].tolist() == [True, False, True]
    assert result["c1"].tolist() == [True, True, False]
    assert result["c2"].tolist() == [True, True, False]
    assert result["eligible"].tolist() == [True, False, False]


def test_descriptions_in_chinese_and_english():
    assert Condition("level", "at_least", 3).describe() == (
        "职业技能等级不低于高级工",
        "skill level at least senior worker (3)",
    )
    assert cond("insured", "is", True).describe() == (
        "在东莞参保为是",
        "insured in Dongguan is yes",
    )
