"""The claims migration that stores inputs as values with their names apart: older
calculations keep their objects and read as before; backwards turns lists of values
into objects again."""

from __future__ import annotations

import json

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from subsidies.claims import calculations, trace_store
from tests.support import databases

MIGRATION = "2026-11-29T21:10:00:000000"
OLD = json.dumps({"months": 3, "programme": "百校千人"}, ensure_ascii=False)
NAMES = json.dumps(["months", "programme"])


async def sql(text: str, *args: object) -> list[dict]:
    return await engine().run_querystring(QueryString(text, *args))


async def calculation(claim: int, inputs: str, names: str | None) -> None:
    await sql(
        "INSERT INTO claim_calculation (claim, amount_fen, inputs, input_names, trace_digest, "
        "calculated_at) VALUES ({}, 0, {}, {}, 'd', CURRENT_TIMESTAMP)",
        claim,
        inputs,
        names,
    )


async def test_old_objects_read_as_before_and_lists_turn_back_into_objects(database_url, tmp_dir):
    # A database of its own: the test takes the schema back a step.
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        await sql(
            "INSERT INTO claim_calculation (claim, amount_fen, inputs, trace_digest, "
            "calculated_at) VALUES (201, 0, {}, 'd', CURRENT_TIMESTAMP)",
            OLD,
        )
        digest = trace_store.digest(NAMES)
        await sql(
            "INSERT INTO calculation_input_names (digest, names) VALUES ({}, {})", digest, NAMES
        )
        await calculation(202, '[2,"百校千人"]', digest)
        shown = await calculations.of_claims([201, 202])
        assert json.loads(shown[201]["inputs"]) == {"months": 3, "programme": "百校千人"}
        assert json.loads(shown[202]["inputs"]) == {"months": 2, "programme": "百校千人"}

        result = await run_backwards(app_name="claims", migration_id=MIGRATION, auto_agree=True)
        assert result.success, result.message
        rows = await sql("SELECT claim, inputs FROM claim_calculation ORDER BY claim")
        assert [(r["claim"], json.loads(r["inputs"])) for r in rows] == [
            (201, {"months": 3, "programme": "百校千人"}),
            (202, {"months": 2, "programme": "百校千人"}),
        ]
        result = await run_forwards(app_name="claims", migration_id="all", fake=False)
        assert result.success, result.message
        names = await sql("SELECT input_names FROM claim_calculation")
        assert [r["input_names"] for r in names] == [None, None]
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
