"""The claims migration that stores each trace once: existing calculations keep their
traces through it, and backwards gives each calculation its text again."""

from __future__ import annotations

import json

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from subsidies.claims import calculations, trace_store
from tests.support import databases

MIGRATION = "2026-11-29T09:00:00:000000"
SHARED = json.dumps([{"zh": "每月 3,000 元", "en": "3,000 yuan a month"}], ensure_ascii=False)
OWN = json.dumps([{"zh": "已计 6,000 元", "en": "6,000 already"}], ensure_ascii=False)


async def sql(text: str, *args: object) -> list[dict]:
    return await engine().run_querystring(QueryString(text, *args))


async def test_existing_traces_are_stored_once_and_restored_backwards(database_url, tmp_dir):
    # A database of its own: the test takes the schema back a step.
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        result = await run_backwards(app_name="claims", migration_id=MIGRATION, auto_agree=True)
        assert result.success, result.message
        for claim, trace in ((101, SHARED), (102, SHARED), (103, OWN)):
            await sql(
                "INSERT INTO claim_calculation (claim, amount_fen, inputs, trace, calculated_at) "
                "VALUES ({}, 300000, {}, {}, CURRENT_TIMESTAMP)",
                claim,
                "{}",
                trace,
            )

        many = [json.dumps([{"zh": f"第 {n} 步", "en": f"step {n}"}]) for n in range(450)]
        for claim, trace in enumerate(many, start=1000):  # more than one INSERT's worth
            await sql(
                "INSERT INTO claim_calculation (claim, amount_fen, inputs, trace, calculated_at) "
                "VALUES ({}, 0, {}, {}, CURRENT_TIMESTAMP)",
                claim,
                "{}",
                trace,
            )

        result = await run_forwards(app_name="claims", migration_id="all", fake=False)
        assert result.success, result.message
        stored = await sql("SELECT digest, steps FROM calculation_trace ORDER BY steps")
        assert sorted(r["steps"] for r in stored) == sorted([SHARED, OWN, *many])
        assert all(r["digest"] == trace_store.digest(r["steps"]) for r in stored)
        assert await calculations.traces_of([101, 102, 103]) == {101: SHARED, 102: SHARED, 103: OWN}

        result = await run_backwards(app_name="claims", migration_id=MIGRATION, auto_agree=True)
        assert result.success, result.message
        rows = await sql("SELECT claim, trace FROM claim_calculation ORDER BY claim")
        assert [(r["claim"], r["trace"]) for r in rows] == [
            (101, SHARED),
            (102, SHARED),
            (103, OWN),
            *enumerate(many, start=1000),
        ]
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
