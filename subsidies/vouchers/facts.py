"""What the registry says about people on a day, as the frame the voucher rules judge:
hukou, age, insured months, insured (the scheme's precondition, see rules) and the
highest valid skill level. Reads only; the callers hold the unit of work."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Min

from registry.tables import Certificate, Employment, Person
from subsidies.vouchers import rules

COLUMNS = ("hukou", "age", "insured_months", "insured", "level")
_PERSON_COLUMNS = (
    Person.id,
    Person.birth_date,
    Person.hukou,
    Person.insured_months,
    Person.insured_confirmed_on,
)
_BATCH = 2000


def insured_employment_on(on: date) -> WhereRaw:
    """People with an insured employment covering `on` (for a select on person)."""
    return WhereRaw(
        'EXISTS (SELECT 1 FROM employment e WHERE e.person = "person"."id" '
        "AND e.insured = {} AND e.started_on <= {} "
        "AND (e.ended_on IS NULL OR e.ended_on >= {}))",
        True,
        on,
        on,
    )


def insured_candidates(on: date) -> Any:
    """The scheme's precondition as a where clause on person."""
    return (
        (Person.insured_months > 0) & Person.insured_confirmed_on.is_not_null()
    ) | insured_employment_on(on)


async def _insured_employment(ids: list[int], on: date) -> set[int]:
    rows = (
        await Employment.select(Employment.person)
        .where(
            Employment.person.is_in(ids)
            & (Employment.insured == True)  # noqa: E712 (a column comparison)
            & (Employment.started_on <= on)
            & (Employment.ended_on.is_null() | (Employment.ended_on >= on))
        )
        .run()
    )
    return {r["person"] for r in rows}


async def _levels(ids: list[int], on: date) -> dict[int, int]:
    rows = (
        await Certificate.select(Certificate.person, Min(Certificate.level, alias="level"))
        .where(
            Certificate.person.is_in(ids)
            & (Certificate.status == "valid")
            & (Certificate.issued_on <= on)
        )
        .group_by(Certificate.person)
        .run()
    )
    return {r["person"]: r["level"] for r in rows}


async def frame(people: list[dict[str, Any]], on: date) -> pd.DataFrame:
    """The facts of `people` (rows with the person columns above) on `on`, indexed by
    person id."""
    if not people:
        return pd.DataFrame(columns=list(COLUMNS), index=pd.Index([], name="person_id"))
    base = pd.DataFrame(people).set_index("id")
    base.index.name = "person_id"
    ids = [int(i) for i in base.index]
    employed: set[int] = set()
    levels: dict[int, int] = {}
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        employed |= await _insured_employment(chunk, on)
        levels.update(await _levels(chunk, on))
    out = pd.DataFrame(index=base.index)
    out["hukou"] = base["hukou"].where(base["hukou"].isin(["local", "non_local"]), None)
    out["age"] = rules.ages_on(base["birth_date"], on)
    out["insured_months"] = pd.to_numeric(base["insured_months"], errors="coerce")
    out["insured"] = rules.insured_flags(
        base["insured_months"], base["insured_confirmed_on"], base.index.to_series().isin(employed)
    )
    out["level"] = base.index.to_series().map(levels).astype("float64")
    return out


async def for_people(ids: list[int], on: date) -> pd.DataFrame:
    people: list[dict[str, Any]] = []
    for start in range(0, len(ids), _BATCH):
        people += (
            await Person.select(*_PERSON_COLUMNS)
            .where(Person.id.is_in(ids[start : start + _BATCH]))
            .run()
        )
    return await frame(people, on)


def snapshot(facts: pd.DataFrame, person_id: int) -> dict[str, Any]:
    """One person's facts as stored on the voucher (JSON-ready, None for unknown)."""
    row = facts.loc[person_id]
    return {
        "hukou": row["hukou"] if isinstance(row["hukou"], str) else None,
        "age": int(row["age"]),
        "insured_months": None if pd.isna(row["insured_months"]) else int(row["insured_months"]),
        "insured": bool(row["insured"]),
        "level": None if pd.isna(row["level"]) else int(row["level"]),
    }


PERSON_COLUMNS = _PERSON_COLUMNS
