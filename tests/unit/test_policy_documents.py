"""Loading policy documents validates everything and names the file, the field and the
problem (subsidies.policies.documents)."""

import re
from datetime import date
from pathlib import Path

import pytest

from subsidies.policies import documents
from subsidies.policies.documents import PolicyError

INTERNSHIP = """\
scheme = "internship"
version = 1
title_zh = "实习补贴"
title_en = "Internship subsidy"
source = "东人社函〔2023〕56号"
effective_from = 2022-01-01
payee = "organisation"
conditions = [{ fact = "insured_in_period", op = "is", value = true }]

[parameters]
monthly_rate_fen = 300000
max_months = 3
cap_per_intern_fen = 900000
proration = "calendar_days"
"""

LIVING = """\
scheme = "leading_talent_living"
version = 1
title_zh = "生活补贴"
title_en = "Living subsidy"
source = "东人社发〔2022〕20号"
effective_from = 2022-01-01
payee = "person"

[parameters]
total_fen = 30000000
instalments = [
  { months_after_award = 0, amount_fen = 10000000 },
  { months_after_award = 12, amount_fen = 10000000 },
  { months_after_award = 24, amount_fen = 10000000 },
]
"""


SKILL_PARAMETERS = (
    '[parameters]\ncap_per_person_fen = 5000000\n[parameters.amount_by_level_fen]\n"3" = 300000\n'
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> tuple[str, list[str]]:
    with pytest.raises(PolicyError) as caught:
        documents.load_file(path)
    return caught.value.source, caught.value.problems


def test_the_shipped_defaults_load():
    policies = documents.load_defaults()
    schemes = {p.scheme for p in policies}
    assert schemes == set(documents.SCHEMES)
    internship = documents.version_for(policies, "internship", date(2024, 1, 1))
    assert internship is not None
    assert internship.parameters.cap_per_intern_fen == 900_000  # 9,000 yuan per intern
    assert internship.parameters.monthly_rate_fen * internship.parameters.max_months == 900_000
    skill = documents.version_for(policies, "skill_level", date(2024, 1, 1))
    assert skill is not None and skill.parameters.cap_per_person_fen == 5_000_000
    assert skill.automatic is True
    # The version in force pays the upgrade per person; version 1, naming no basis,
    # reads as it was priced: per occupation.
    assert (skill.version, skill.parameters.upgrade_basis) == (2, "person")
    [first] = [p for p in policies if p.scheme == "skill_level" and p.version == 1]
    assert first.parameters.upgrade_basis == "occupation"
    assert "upgrade_basis" not in first.raw["parameters"]


def test_an_unknown_upgrade_basis(tmp_path):
    text = INTERNSHIP.replace('scheme = "internship"', 'scheme = "skill_level"').split(
        "conditions"
    )[0] + SKILL_PARAMETERS.replace("\n[parameters.", '\nupgrade_basis = "household"\n[parameters.')
    _, problems = problems_of(write(tmp_path, "skill.toml", text))
    assert problems == ["parameters.upgrade_basis: Invalid enum value 'household'"]


def test_a_valid_file_loads(tmp_path):
    policy = documents.load_file(write(tmp_path, "internship.v1.toml", INTERNSHIP))
    assert policy.scheme == "internship" and policy.version == 1
    assert policy.conditions[0].fact == "insured_in_period"


def test_bad_toml_names_the_file(tmp_path):
    source, problems = problems_of(write(tmp_path, "broken.toml", "scheme = \n"))
    assert source == "broken.toml"
    assert problems[0].startswith("(file): not valid TOML")


def test_an_unknown_scheme(tmp_path):
    text = INTERNSHIP.replace('scheme = "internship"', 'scheme = "lottery"')
    source, problems = problems_of(write(tmp_path, "lottery.toml", text))
    assert source == "lottery.toml"
    assert any(p.startswith("scheme: unknown scheme 'lottery'") for p in problems)


def test_only_a_scheme_the_scan_covers_can_be_automatic(tmp_path):
    text = INTERNSHIP.replace('payee = "organisation"', 'payee = "organisation"\nautomatic = true')
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems == [
        "automatic: no scan proposes internship claims; only skill_level and studio_grant "
        "versions can be automatic"
    ]


def test_an_unknown_fact(tmp_path):
    text = INTERNSHIP.replace('fact = "insured_in_period"', 'fact = "shoe_size"')
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems == [problems[0]] and problems[0].startswith(
        "conditions[0].fact: unknown fact 'shoe_size'"
    )


def test_a_fact_the_scheme_cannot_be_judged_on(tmp_path):
    text = INTERNSHIP.replace(
        '{ fact = "insured_in_period", op = "is", value = true }',
        '{ fact = "medal", op = "in", value = ["gold"] }',
    )
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems[0].startswith(
        "conditions[0].fact: internship claims cannot be judged on 'medal'"
    )


def test_a_wrong_operator(tmp_path):
    text = INTERNSHIP.replace('op = "is", value = true', 'op = "at_least", value = true')
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems[0].startswith("conditions[0].op: insured_in_period takes is, not 'at_least'")


def test_a_bad_level(tmp_path):
    text = (
        INTERNSHIP.replace('scheme = "internship"', 'scheme = "skill_level"')
        .replace('payee = "organisation"', 'payee = "person"')
        .replace(
            'fact = "insured_in_period", op = "is", value = true',
            'fact = "level", op = "at_least", value = 6',
        )
        .split("[parameters]")[0]
        + SKILL_PARAMETERS
    )
    _, problems = problems_of(write(tmp_path, "skill.toml", text))
    assert problems == ["conditions[0].value: a level is an integer 1 (senior technician) to 5"]


def test_a_level_outside_one_to_five_in_the_amounts(tmp_path):
    text = (
        INTERNSHIP.replace('scheme = "internship"', 'scheme = "skill_level"').split("conditions")[0]
        + '[parameters]\ncap_per_person_fen = 5000000\n[parameters.amount_by_level_fen]\n"6" = 1\n'
    )
    _, problems = problems_of(write(tmp_path, "skill.toml", text))
    assert problems == ["parameters.amount_by_level_fen: Invalid enum value '6' (a key)"]


def test_a_negative_amount(tmp_path):
    text = INTERNSHIP.replace("monthly_rate_fen = 300000", "monthly_rate_fen = -300000")
    source, problems = problems_of(write(tmp_path, "internship.v1.toml", text))
    assert source == "internship.v1.toml"
    assert problems == ["parameters.monthly_rate_fen: Expected `int` >= 1"]


def test_a_cap_that_could_never_be_reached(tmp_path):
    text = INTERNSHIP.replace("cap_per_intern_fen = 900000", "cap_per_intern_fen = 900001")
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems[0].startswith("parameters.cap_per_intern_fen: larger than")


def test_instalments_not_adding_up(tmp_path):
    text = LIVING.replace("total_fen = 30000000", "total_fen = 30000001")
    _, problems = problems_of(write(tmp_path, "living.toml", text))
    assert problems == ["parameters.instalments: add up to 30000000 fen, not total_fen 30000001"]


def test_effective_to_before_effective_from(tmp_path):
    text = INTERNSHIP.replace(
        "effective_from = 2022-01-01", "effective_from = 2022-01-01\neffective_to = 2021-12-31"
    )
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert problems == ["effective_to: must not be before effective_from"]


def test_an_unknown_field_and_a_missing_one(tmp_path):
    _, problems = problems_of(write(tmp_path, "x.toml", INTERNSHIP + "colour = 1\n"))
    assert "colour" in problems[0]
    _, problems = problems_of(
        write(tmp_path, "y.toml", INTERNSHIP.replace('source = "东人社函〔2023〕56号"\n', ""))
    )
    assert "source" in problems[0]


def test_several_problems_are_all_named(tmp_path):
    text = INTERNSHIP.replace('fact = "insured_in_period"', 'fact = "shoe_size"').replace(
        'proration = "calendar_days"', 'proration = "by_the_moon"'
    )
    _, problems = problems_of(write(tmp_path, "x.toml", text))
    assert len(problems) == 2
    assert problems[0].startswith("conditions[0].fact") or problems[1].startswith(
        "conditions[0].fact"
    )
    assert any(p.startswith("parameters.proration") for p in problems)


def test_duplicate_versions_in_a_folder_name_both_files(tmp_path):
    write(tmp_path, "a.toml", INTERNSHIP)
    write(tmp_path, "b.toml", INTERNSHIP)
    with pytest.raises(PolicyError) as caught:
        documents.load_defaults(tmp_path)
    assert caught.value.source == str(tmp_path)
    assert caught.value.problems == ["b.toml: version: internship 1 is also a.toml"]


def test_a_folder_reports_every_bad_file(tmp_path):
    write(tmp_path, "good.toml", INTERNSHIP)
    write(tmp_path, "bad1.toml", "not toml at all = = =")
    write(tmp_path, "bad2.toml", LIVING.replace("total_fen = 30000000", "total_fen = 1"))
    with pytest.raises(PolicyError) as caught:
        documents.load_defaults(tmp_path)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("bad1.toml: (file): not valid TOML")
    assert problems[1].startswith("bad2.toml: parameters.instalments: add up to")


# A field path first: "conditions[0].fact: ...", "parameters.x[...]: ..." (a table's
# value), "(document): ..." (the whole document).
FIELD_FIRST = re.compile(
    r"^(\(document\)|[A-Za-z_]\w*(\[(\d+|\.\.\.)\])?(\.\w+(\[(\d+|\.\.\.)\])?)*): \S"
)


def _leaf_paths(value, path=()):
    """Every path to a value inside a document (dict keys and list positions)."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaf_paths(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _leaf_paths(inner, (*path, i))


def _replaced(document, path, new):
    if not path:
        return new
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replaced(document[head], rest, new)
    return copy


@pytest.mark.parametrize(
    "path", sorted(documents.DEFAULTS_DIR.glob("*.toml")), ids=lambda p: p.name
)
def test_any_value_of_the_wrong_shape_is_a_policy_error_naming_its_field(path):
    """An officer's draft may hold anything JSON can: a list or a table where a name
    belongs must be refused with the field named (a TypeError here was a 500)."""
    import tomllib

    document = tomllib.loads(path.read_text(encoding="utf-8"))
    odd_values = [["a", "list"], {"a": "table"}, None, 1.5, "text", -1]
    tried = 0
    for where in _leaf_paths(document):
        if not where:
            continue
        for odd in odd_values:
            tried += 1
            try:
                documents.parse(_replaced(document, where, odd), "draft")
            except PolicyError as error:
                # Each problem starts with the field it is about ("conditions[0].fact: ...").
                assert error.problems and all(FIELD_FIRST.match(p) for p in error.problems), (
                    where,
                    odd,
                    error.problems,
                )
    assert tried > 50
