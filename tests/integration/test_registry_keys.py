"""The references of training outcomes and certificates hold on both engines: SQLite by
its declared foreign keys, PostgreSQL by the per-statement checks of
kernel.statement_foreign_keys (which replaced the declared keys there)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date

import asyncpg
import numpy as np
import pandas as pd
import pytest

from kernel.db import raw_connection, unit_of_work
from registry.outcomes.store import Bulk
from registry.tables import Certificate, Organisation, OutcomeReport, Person, TrainingOutcome
from tests.support import registry_data as data

CHECK_TRIGGERS = (
    "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%keys_inserted' "
    "OR tgname LIKE '%keys_updated' OR tgname LIKE '%referenced_%'"
)
INSERT = (
    "INSERT INTO training_outcome (institution, person, course, occupation_code, "
    "occupation_name, hours, start_date, end_date, passed, late, reported_at, updated_at) "
    "VALUES ($1, $2, 'c', 'x', 'x', 1, '2024-01-01', '2024-02-01', TRUE, FALSE, now(), now())"
)
REFUSED = (sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)
MISSING = 2_000_000_000


def _outcome(person: int, institution: int, **extra) -> TrainingOutcome:
    return TrainingOutcome(
        institution=institution,
        person=person,
        course=extra.pop("course", "焊接"),
        occupation_code=data.WELDER,
        occupation_name="焊工",
        hours=80,
        start_date=date(2024, 3, 1),
        end_date=date(2024, 4, 30),
        passed=True,
        **extra,
    )


class _Undo(Exception):
    pass


async def _report(institution_id: int) -> int:
    report = OutcomeReport(
        institution=institution_id, filename="r.csv", file_format="csv", size_bytes=1,
        sha256="0" * 64, stored_path="r.csv", uploaded_by="test",
    )  # fmt: skip
    await report.save().run()
    return report.id


async def _outcomes_of(person_id: int) -> int:
    return await TrainingOutcome.count().where(TrainingOutcome.person == person_id).run()


@pytest.mark.parametrize(
    "column", ["person", "institution", "certificate", "report"], ids=lambda c: f"missing {c}"
)
async def test_an_outcome_naming_a_missing_row_is_refused_with_the_rows_of_its_statement(
    db, column
):
    holder = await data.person()
    institution = await data.organisation(org_type="training_institution")
    values = {"person": holder["id"], "institution": institution["id"]}
    good = _outcome(**values, course="好")
    bad = _outcome(**{**values, column: MISSING}, course="坏")
    with pytest.raises(REFUSED) as refused:
        await TrainingOutcome.insert(good, bad).run()
    if isinstance(refused.value, asyncpg.ForeignKeyViolationError):
        assert f"Key ({column})=({MISSING}) is not present" in refused.value.detail
    assert await _outcomes_of(holder["id"]) == 0  # the good row of the statement too


async def test_an_update_to_a_missing_row_is_refused(db):
    holder = await data.person()
    issuer = await data.organisation(org_type="evaluation_organisation")
    held = await data.certificate(holder, issuer)
    with pytest.raises(REFUSED):
        await (
            Certificate.update({Certificate.person: MISSING})
            .where(Certificate.id == held["id"])
            .run()
        )
    with pytest.raises(REFUSED):
        await (
            Certificate.update({Certificate.issuer: MISSING})
            .where(Certificate.id == held["id"])
            .run()
        )
    row = (
        await Certificate.select(Certificate.person, Certificate.issuer)
        .where(Certificate.id == held["id"])
        .first()
        .run()
    )
    assert row == {"person": holder["id"], "issuer": issuer["id"]}
    institution = await data.organisation(org_type="training_institution")
    taken = await data.outcome(holder, institution, cert=held)
    with pytest.raises(REFUSED):  # the import's update_outcomes path sets certificate
        await (
            TrainingOutcome.update({TrainingOutcome.certificate: MISSING})
            .where(TrainingOutcome.id == taken["id"])
            .run()
        )
    # Updating other columns does not need the check and still works.
    await (
        Certificate.update({Certificate.status: "revoked"})
        .where(Certificate.id == held["id"])
        .run()
    )


async def test_a_referenced_row_cannot_be_deleted_and_an_unreferenced_one_can(db):
    holder = await data.person()
    institution = await data.organisation(org_type="training_institution")
    issuer = await data.organisation(org_type="evaluation_organisation")
    held = await data.certificate(holder, issuer)
    report = await _report(institution["id"])
    await TrainingOutcome.insert(
        _outcome(holder["id"], institution["id"], certificate=held["id"], report=report)
    ).run()
    for table, row_id in [
        (Person, holder["id"]),
        (Organisation, institution["id"]),
        (Organisation, issuer["id"]),
        (Certificate, held["id"]),
        (OutcomeReport, report),
    ]:
        with pytest.raises(REFUSED):
            await table.delete().where(table.id == row_id).run()
        assert await table.exists().where(table.id == row_id).run()
    # An institution named only by an outcome (no report of its own, whose declared key
    # would refuse the delete by itself).
    teacher = await data.organisation(org_type="training_institution")
    await data.outcome(holder, teacher)
    with pytest.raises(REFUSED):
        await Organisation.delete().where(Organisation.id == teacher["id"]).run()
    lonely = await data.organisation()
    await Organisation.delete().where(Organisation.id == lonely["id"]).run()
    assert not await Organisation.exists().where(Organisation.id == lonely["id"]).run()


def _sqlite_writers_take_turns(path: str, institution_id: int, person_ids: list[int]) -> None:
    """SQLite: the second writer cannot start while the first holds the write lock, and
    once the first commits, the declared key refuses the second."""
    inserter = sqlite3.connect(path, timeout=0, isolation_level=None)
    deleter = sqlite3.connect(path, timeout=0, isolation_level=None)
    insert = INSERT.replace("$1", "?").replace("$2", "?").replace("now()", "CURRENT_TIMESTAMP")
    delete = "DELETE FROM person WHERE id = ?"
    try:
        for conn in (inserter, deleter):
            conn.execute("PRAGMA foreign_keys = 1")
        first, second = person_ids
        inserter.execute("BEGIN IMMEDIATE")
        inserter.execute(insert, (institution_id, first))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            deleter.execute(delete, (first,))
        inserter.execute("COMMIT")
        with pytest.raises(sqlite3.IntegrityError):
            deleter.execute(delete, (first,))

        deleter.execute("BEGIN IMMEDIATE")
        deleter.execute(delete, (second,))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            inserter.execute(insert, (institution_id, second))
        deleter.execute("COMMIT")
        with pytest.raises(sqlite3.IntegrityError):
            inserter.execute(insert, (institution_id, second))
    finally:
        inserter.close()
        deleter.close()


async def test_a_delete_racing_an_insert_never_leaves_an_orphan(db):
    """Two connections: whichever of an outcome's insert and its person's delete commits
    first, the other is refused (the declared key did this with row locks; SQLite lets
    one writer at a time)."""
    institution = await data.organisation(org_type="training_institution")
    if db.startswith("sqlite"):
        first, second = await data.person(), await data.person()
        path = db.removeprefix("sqlite:///")
        _sqlite_writers_take_turns(path, institution["id"], [first["id"], second["id"]])
        assert await _outcomes_of(first["id"]) == 1
        assert await _outcomes_of(second["id"]) == 0
        assert not await Person.exists().where(Person.id == second["id"]).run()
        return
    dsn = db.replace("postgres://", "postgresql://", 1)
    inserter, deleter = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        # The insert first: the delete waits for it and then sees its row.
        first = await data.person()
        async with inserter.transaction():
            await inserter.execute(INSERT, institution["id"], first["id"])
            delete = asyncio.create_task(
                deleter.execute("DELETE FROM person WHERE id = $1", first["id"])
            )
            await asyncio.sleep(0.3)
            assert not delete.done()  # waiting for the inserter's transaction
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await delete
        assert await _outcomes_of(first["id"]) == 1

        # The delete first: the insert waits for it and then misses the person.
        second = await data.person()
        async with deleter.transaction():
            await deleter.execute("DELETE FROM person WHERE id = $1", second["id"])
            write = asyncio.create_task(inserter.execute(INSERT, institution["id"], second["id"]))
            await asyncio.sleep(0.3)
            assert not write.done()
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await write
        assert await _outcomes_of(second["id"]) == 0
        assert not await Person.exists().where(Person.id == second["id"]).run()
    finally:
        await inserter.close()
        await deleter.close()


async def test_where_the_engines_differ(db):
    """SQLite's declared keys carry a changed id over to the outcomes (ON UPDATE
    CASCADE). On PostgreSQL a parent's update that keeps its id does not wait for a
    running import (it returns before the lock); a referenced id cannot change; a
    referenced parent cannot be truncated; and at REPEATABLE READ the checks refuse to
    run instead of trusting an old snapshot."""
    institution = await data.organisation(org_type="training_institution")
    holder = await data.person()
    if db.startswith("sqlite"):
        await data.outcome(holder, institution)
        moved = holder["id"] + 1_000_000_000
        await Person.update({Person.id: moved}).where(Person.id == holder["id"]).run()
        assert await _outcomes_of(moved) == 1
        assert await _outcomes_of(holder["id"]) == 0
        return
    dsn = db.replace("postgres://", "postgresql://", 1)
    importer, other = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with importer.transaction():  # holds ROW EXCLUSIVE on training_outcome
            await importer.execute(INSERT, institution["id"], holder["id"])
            await asyncio.wait_for(
                other.execute("UPDATE person SET phone = '1' WHERE id = $1", holder["id"]),
                timeout=5,
            )
        # Each in a transaction that never commits, should the statement go through.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with other.transaction():
                await other.execute(
                    "UPDATE person SET id = id + 1000000000 WHERE id = $1", holder["id"]
                )
                raise _Undo
        with pytest.raises(asyncpg.FeatureNotSupportedError, match="cannot truncate"):
            async with other.transaction():
                await other.execute("TRUNCATE person CASCADE")
                raise _Undo
        assert await _outcomes_of(holder["id"]) == 1
        newcomer = await data.person()
        with pytest.raises(asyncpg.FeatureNotSupportedError, match="READ COMMITTED only"):
            async with other.transaction(isolation="repeatable_read"):
                await other.execute(INSERT, institution["id"], newcomer["id"])
    finally:
        await importer.close()
        await other.close()


async def test_a_bulk_import_statement_is_checked_as_a_whole(db):
    """The import's own path (executemany; on PostgreSQL COPY into a temporary table and
    one INSERT ... SELECT): a row naming a missing person refuses it, and the rows
    before it do not stay."""
    institution = await data.organisation(org_type="training_institution")
    report = await _report(institution["id"])
    holders = [await data.person() for _ in range(3)]
    count = len(holders) + 1
    frame = pd.DataFrame(
        {
            "person_id": [h["id"] for h in holders] + [MISSING],
            "course": ["焊接"] * count,
            "occupation_code": [data.WELDER] * count,
            "occupation_name": ["焊工"] * count,
            "hours": [80] * count,
            "start_date": np.array(["2024-03-01"] * count, dtype="datetime64[D]"),
            "end_date": np.array(["2024-04-30"] * count, dtype="datetime64[D]"),
            "passed": [True] * count,
            "certificate_id": [0] * count,  # none (NULL_IF_ZERO)
            "late": [False] * count,
        }
    )
    with pytest.raises(REFUSED):
        async with unit_of_work():
            bulk = Bulk.open("test", report, institution["id"])
            try:
                await bulk.insert_outcomes(frame)
            finally:
                bulk.close()
    for holder in holders:
        assert await _outcomes_of(holder["id"]) == 0


async def test_each_engine_holds_the_keys_its_own_way_and_the_migration_goes_back(db):
    """SQLite keeps the declared keys; PostgreSQL has the per-statement checks instead,
    and the migration's way back (run here in a transaction that is rolled back) puts
    the declared keys back in their place."""
    from kernel.statement_foreign_keys import uninstall
    from registry.piccolo_migrations.registry_2026_11_29t13_00_00_000000 import REFERENCES

    declared = {(r.child, r.column, r.parent) for r in REFERENCES}
    if db.startswith("sqlite"):
        async with unit_of_work():
            conn = raw_connection()
            found = {
                (child, row["from"], row["table"])
                for child in ("training_outcome", "certificate")
                for row in conn.execute(f"PRAGMA foreign_key_list({child})").fetchall()
            }
        assert declared <= found
        return
    keys_sql = (
        "SELECT conrelid::regclass::text, a.attname, confrelid::regclass::text, "
        "confupdtype::text, confdeltype::text "
        "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.contype = 'f' "
        "AND conrelid::regclass::text IN ('training_outcome', 'certificate')"
    )
    async with unit_of_work():
        conn = raw_connection()
        assert not declared & {tuple(r)[:3] for r in await conn.fetch(keys_sql)}
        with pytest.raises(_Undo):
            async with conn.transaction():  # rolled back by _Undo
                for sql in uninstall(REFERENCES):
                    await conn.execute(sql)
                # As Piccolo declared them: ON UPDATE CASCADE ON DELETE RESTRICT.
                cascade_restrict = {(*key, "c", "r") for key in declared}
                assert cascade_restrict <= {tuple(r) for r in await conn.fetch(keys_sql)}
                assert await conn.fetchval(CHECK_TRIGGERS) == 0
                raise _Undo
        assert await conn.fetchval(CHECK_TRIGGERS) == 16  # 2 children x 2, 4 parents x 3
