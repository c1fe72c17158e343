"""Indexes of the registry the outcome import pays for on every row: each must earn it."""

from __future__ import annotations

from kernel.db import engine, is_sqlite, raw_connection, unit_of_work
from registry.tables import Person
from tests.support import registry_data as data


async def _plan(sql: str) -> str:
    """The plan of `sql` as text, on either engine."""
    async with unit_of_work():
        conn = raw_connection()
        if is_sqlite(engine()):
            return " ".join(str(r) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        # A planner choice, not a row count, is under test: the table is small here.
        await conn.execute("SET LOCAL enable_seqscan = off")
        return " ".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}"))


async def test_a_persons_town_is_indexed_only_where_known_and_searches_still_use_it(db):
    """People an import registers have no town: their NULLs stay out of person_town,
    and a search by town (which never matches NULL) still finds its way through it."""
    person = await data.person()
    await Person.update({Person.town: "莞城街道"}).where(Person.id == person["id"]).run()
    plan = await _plan("SELECT id FROM person WHERE town = '莞城街道'")
    assert "person_town" in plan, plan
    assert await Person.count().where(Person.town == "莞城街道").run() >= 1
    async with unit_of_work():
        conn = raw_connection()
        if is_sqlite(engine()):
            row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'person_town'")
            definition = row.fetchone()["sql"]
        else:
            definition = await conn.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'person_town'"
            )
    assert definition.replace("(", "").replace(")", "").endswith("WHERE town IS NOT NULL")
