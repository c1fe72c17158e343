"""The declared vocabulary of eligibility conditions, and its evaluation over a frame.

A policy names conditions as data, e.g. `{fact = "level", op = "at_least", value = 3}`;
nothing in a policy is ever evaluated as code. Each fact has a type and the operators
that make sense for it. Evaluation is vectorised: one boolean column per condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from registry.levels import Level


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str  # "level" | "int" | "bool" | "choice"
    ops: tuple[str, ...]
    zh: str
    en: str
    choices: tuple[str, ...] = ()


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        # Skill level 1 (senior technician) .. 5 (junior worker): "at least 3" is 3, 2 or 1.
        Fact("level", "level", ("at_least",), "职业技能等级", "skill level"),
        Fact("hukou", "choice", ("is", "in"), "户籍", "hukou", ("local", "non_local")),
        Fact(
            "insured_months",
            "int",
            ("at_least",),
            "东莞养老保险缴费月数",
            "months insured in Dongguan",
        ),
        Fact("insured", "bool", ("is",), "在东莞参保", "insured in Dongguan"),
        Fact("insured_in_period", "bool", ("is",), "期间已参保", "insured for the whole period"),
        Fact("age", "int", ("at_most", "at_least"), "年龄", "age"),
        Fact(
            "employed_in_dongguan",
            "bool",
            ("is",),
            "在莞企业就业",
            "employed by a Dongguan enterprise",
        ),
        Fact("course_passed", "bool", ("is",), "培训合格", "course passed"),
        Fact(
            "fresh_graduate",
            "bool",
            ("is",),
            "广东技工院校应届毕业生",
            "fresh graduate of a Guangdong technical school",
        ),
        Fact(
            "medal",
            "choice",
            ("in",),
            "世界技能大赛奖牌",
            "WorldSkills medal",
            ("gold", "silver", "bronze"),
        ),
    )
}

_OP_TEXT = {
    "at_least": ("不低于", "at least"),
    "at_most": ("不高于", "at most"),
    "is": ("为", "is"),
    "in": ("属于", "one of"),
}


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: Any

    def describe(self) -> tuple[str, str]:
        """The condition in Chinese and in English, for traces and listings."""
        fact = FACTS[self.fact]
        zh_op, en_op = _OP_TEXT[self.op]
        value_zh = value_en = str(self.value)
        if fact.kind == "level":
            level = Level(self.value)
            value_zh, value_en = level.zh, f"{level.en} ({self.value})"
        elif fact.kind == "bool":
            value_zh, value_en = ("是" if self.value else "否"), ("yes" if self.value else "no")
        elif isinstance(self.value, list):
            value_zh = value_en = "/".join(self.value)
        return f"{fact.zh}{zh_op}{value_zh}", f"{fact.en} {en_op} {value_en}"


def check(raw: Any, where: str) -> tuple[Condition | None, str | None]:
    """A condition from a policy document, or the reason it is not one (naming `where`)."""
    if not isinstance(raw, dict) or set(raw) != {"fact", "op", "value"}:
        return None, f"{where}: must be a table with exactly fact, op and value"
    if not isinstance(raw["fact"], str):
        return None, f"{where}.fact: must be the name of a fact; known: {', '.join(FACTS)}"
    if not isinstance(raw["op"], str):
        return None, f"{where}.op: must be the name of an operator, such as at_least"
    fact = FACTS.get(raw["fact"])
    if fact is None:
        return None, f"{where}.fact: unknown fact {raw['fact']!r}; known: {', '.join(FACTS)}"
    op, value = raw["op"], raw["value"]
    if op not in fact.ops:
        return None, f"{where}.op: {fact.name} takes {' or '.join(fact.ops)}, not {op!r}"
    if fact.kind == "level" and not (type(value) is int and 1 <= value <= 5):
        return None, f"{where}.value: a level is an integer 1 (senior technician) to 5"
    if fact.kind == "int" and not (type(value) is int and 0 <= value <= 1200):
        return None, f"{where}.value: must be a whole number 0 to 1200"
    if fact.kind == "bool" and type(value) is not bool:
        return None, f"{where}.value: must be true or false"
    if fact.kind == "choice":
        values = value if op == "in" else [value]
        if not isinstance(values, list) or not values or any(v not in fact.choices for v in values):
            shape = "a list of" if op == "in" else "one of"
            return None, f"{where}.value: must be {shape} {', '.join(fact.choices)}"
    return Condition(fact.name, op, value), None


def evaluate(conditions: tuple[Condition, ...], facts: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per condition (named by its index) plus `eligible`. A missing
    fact (NaN/None) fails its condition: eligibility is never assumed."""
    out = pd.DataFrame(index=facts.index)
    eligible = np.ones(len(facts), dtype=bool)
    for i, cond in enumerate(conditions):
        column = facts[cond.fact]
        known = column.notna().to_numpy()
        if cond.op == "at_least" and FACTS[cond.fact].kind == "level":
            passed = known & (column.fillna(99).to_numpy() <= cond.value)
        elif cond.op == "at_least":
            passed = known & (column.fillna(-1).to_numpy() >= cond.value)
        elif cond.op == "at_most":
            passed = known & (column.fillna(10**9).to_numpy() <= cond.value)
        elif cond.op == "in":
            passed = column.isin(cond.value).to_numpy()
        else:  # "is"
            passed = known & (column.to_numpy() == cond.value)
        out[f"c{i}"] = passed
        eligible &= passed
    out["eligible"] = eligible
    return out
