"""registry.outcomes.store on both engines: the ids drawn for new rows belong to the
rows they were drawn for, in their order, whatever order the rows are written in."""

from __future__ import annotations

import sqlite3
from datetime import date

import numpy as np
import pandas as pd
import pytest

from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import Conflict
from registry.outcomes.store import Bulk, iso_dates
from registry.tables import Certificate, Person
from tests.conftest import make_org
from tests.support.outcome_files import person_id


def people(numbers: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id_number": numbers,
            "name": [f"人{n[-4:]}" for n in numbers],
            "birth_date": np.array(["1990-05-17"] * len(numbers), dtype="datetime64[D]"),
            "sex": ["M"] * len(numbers),
            "region_warning": [None] * len(numbers),
        }
    )


async def with_ids(bulk: Bulk, table: str, frame: pd.DataFrame, by: str) -> pd.DataFrame:
    return frame.assign(id=await bulk.new_ids(table, frame, by=by))


async def insert_people(numbers: list[str], institution_id: int) -> np.ndarray:
    async with unit_of_work():
        bulk = Bulk.open("test", 0, institution_id)
        try:
            new = await with_ids(bulk, "person", people(numbers), by="id_number")
            await bulk.insert_people(new)
            return new["id"].to_numpy()
        finally:
            bulk.close()


async def test_new_people_and_certificates_get_the_ids_of_their_own_rows(db):
    institution = await make_org("training_institution")
    # Not in ID-number order: the store writes them sorted, the ids must still line up.
    numbers = [person_id(n) for n in (900_300, 900_100, 900_200)]
    async with unit_of_work():
        bulk = Bulk.open("test", 0, institution["id"])
        try:
            new_people = await with_ids(bulk, "person", people(numbers), by="id_number")
            await bulk.insert_people(new_people)
            person_ids = new_people["id"].to_numpy()
            certificates = pd.DataFrame(
                {
                    "person_id": person_ids[[2, 0, 1]],
                    "occupation_code": ["6-18-02-04"] * 3,
                    "occupation_name": ["焊工"] * 3,
                    "certificate_level": [3, 4, 5],
                    "certificate_number": ["S-3", "S-1", "S-2"],
                    "issuer_id": [institution["id"]] * 3,
                    "certificate_date": np.array(["2026-03-01"] * 3, dtype="datetime64[D]"),
                    "route": ["social_evaluation_organisation"] * 3,
                }
            )
            certificates = await with_ids(bulk, "certificate", certificates, by="person_id")
            await bulk.insert_certificates(certificates)
            certificate_ids = certificates["id"].to_numpy()
        finally:
            bulk.close()
    assert len(set(person_ids.tolist())) == 3
    stored = {p["id_number"]: p["id"] for p in await Person.select().where(
        Person.id_number.is_in(numbers)
    ).run()}  # fmt: skip
    assert person_ids.tolist() == [stored[n] for n in numbers]
    rows = await Certificate.select().where(Certificate.id.is_in(certificate_ids.tolist())).run()
    by_id = {r["id"]: r for r in rows}
    for position, certificate_id in enumerate(certificate_ids.tolist()):
        assert by_id[certificate_id]["number"] == certificates["certificate_number"][position]
        assert by_id[certificate_id]["person"] == certificates["person_id"][position]
        assert by_id[certificate_id]["level"] == certificates["certificate_level"][position]
        assert by_id[certificate_id]["issued_on"] == date(2026, 3, 1)


async def test_a_person_registered_since_the_lookup_fails_the_attempt_loudly(db):
    """SQLite: nobody can register one, the import holds the write lock since its
    lookup. PostgreSQL: another import or an officer can; the unique index stops the
    insert and this attempt of the job, and the next attempt finds the person. Either
    way no row is linked to a person it was not meant for."""
    institution = await make_org("training_institution")
    # `free` sorts first: SQLite writes it before the clash, so only a rollback
    # removes it again.
    taken, free = person_id(900_400), person_id(900_399)
    await Person.insert(
        Person(id_number=taken, name="先登记", birth_date=date(1990, 5, 17), sex="M")
    ).run()
    clash = sqlite3.IntegrityError if is_sqlite(engine()) else Conflict
    with pytest.raises(clash):
        await insert_people([free, taken], institution["id"])
    assert await Person.count().where(Person.id_number.is_in([taken, free])).run() == 1


def test_dates_become_iso_text_and_nat_none():
    values = np.array(["2026-01-05", "NaT", "2026-01-05", "1999-12-31"], dtype="datetime64[D]")
    assert iso_dates(values) == ["2026-01-05", None, "2026-01-05", "1999-12-31"]
    assert iso_dates(np.array([], dtype="datetime64[D]")) == []
