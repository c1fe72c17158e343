"""Cutting an import into parts (registry.outcomes.parts.split) and counting what an
earlier attempt of the same report wrote (classify.against_outcomes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from registry.outcomes import classify, parts


def _whole(people: list[int], certificates: list[int], new: list[int], changed: list[int]):
    return parts.Part(
        pd.DataFrame({"id": people}),
        pd.DataFrame({"person_id": certificates, "id": range(len(certificates))}),
        pd.DataFrame({"person_id": new, "course": [f"c{k}" for k in range(len(new))]}),
        pd.DataFrame({"person_id": changed}),
    )


def _owners(part: parts.Part) -> set[int]:
    return (
        set(part.people["id"])
        | set(part.certificates["person_id"])
        | set(part.new["person_id"])
        | set(part.changed["person_id"])
    )


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(parts, "MIN_ROWS_PER_PART", 4)


def test_parts_keep_each_person_whole_and_every_row_once(small_parts):
    rng = np.random.default_rng(7)
    people = list(range(100, 140))
    whole = _whole(
        people,
        certificates=rng.choice(people, 30).tolist(),
        new=rng.choice(np.arange(1, 140), 200).tolist(),  # some known before (ids < 100)
        changed=rng.choice(np.arange(1, 100), 20).tolist(),
    )
    pieces = parts.split(whole, 3)
    assert len(pieces) == 3
    owners = [_owners(p) for p in pieces]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not owners[a] & owners[b]  # a person's rows never span two parts
    assert sum(p.rows for p in pieces) == whole.rows
    assert sorted(pd.concat([p.new for p in pieces])["course"]) == sorted(whole.new["course"])
    # About equal: a third of 290 rows each, give or take one person's rows.
    assert all(60 <= p.rows <= 130 for p in pieces), [p.rows for p in pieces]


def test_small_imports_and_one_person_stay_whole(small_parts):
    few = _whole([1], [1], [1], [])
    assert parts.split(few, 2) == [few]  # 3 rows: below a part's least
    one_person = _whole([5], [5] * 3, [5] * 10, [5] * 3)
    assert [p.rows for p in parts.split(one_person, 4)] == [17]  # no cut inside a person
    many = _whole(list(range(40)), [], list(range(40)), [])
    assert len(parts.split(many, 1)) == 1  # asked for one: one


def test_rows_an_earlier_attempt_wrote_keep_its_status_and_are_not_written_again():
    valid = pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4],
            "course": ["焊工"] * 4,
            "start_date": pd.to_datetime(["2026-09-01"] * 4),
            "end_date": pd.to_datetime(["2026-10-30"] * 4),
            "occupation_code": ["6-18-02-04"] * 4,
            "occupation_name": ["焊工"] * 4,
            "hours": [40, 40, 40, 40],
            "passed": [True] * 4,
            "certificate_id": [0, 0, 0, 0],
        }
    )
    existing = pd.DataFrame(
        {
            "id": [11, 12, 13],
            "person": [1, 2, 3],
            "course": ["焊工"] * 3,
            "start_date": pd.to_datetime(["2026-09-01"] * 3),
            "end_date": pd.to_datetime(["2026-10-30"] * 3),
            "occupation_code": ["6-18-02-04"] * 3,
            "occupation_name": ["焊工"] * 3,
            "hours": [40, 40, 32],
            "passed": [True] * 3,
            "certificate": [0, 0, 0],
            # 1: written as new by an earlier attempt; 2: updated by it; 3: another
            # report's row, which this one changes.
            "stored_as": ["new", "updated", None],
        }
    )
    judged = classify.against_outcomes(valid, existing).set_index("person_id")
    assert judged["status"].to_dict() == {1: "new", 2: "updated", 3: "updated", 4: "new"}
    assert judged["written"].to_dict() == {1: True, 2: True, 3: False, 4: False}
