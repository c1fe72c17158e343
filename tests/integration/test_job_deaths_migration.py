"""The workers migration that counts a job's deaths and marks quarantine: existing jobs
get none, and backwards drops both columns again."""

from __future__ import annotations

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from tests.support import databases

MIGRATION = "2026-12-07T21:40:00:000000"


async def sql(text: str, *args: object) -> list[dict]:
    return await engine().run_querystring(QueryString(text, *args))


async def test_existing_jobs_have_no_deaths_and_backwards_drops_the_columns(database_url, tmp_dir):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        result = await run_backwards(app_name="workers", migration_id=MIGRATION, auto_agree=True)
        assert result.success, result.message
        await sql(
            "INSERT INTO job (kind, payload, status, attempts, max_attempts, progress, "
            "created_by, created_at, updated_at) VALUES ('k', '{}', 'running', 1, 5, 10, "
            "'t', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        result = await run_forwards(app_name="workers", migration_id="all", fake=False)
        assert result.success, result.message
        rows = [dict(r) for r in await sql("SELECT status, deaths, quarantined_at FROM job")]
        assert rows == [{"status": "running", "deaths": 0, "quarantined_at": None}]

        result = await run_backwards(app_name="workers", migration_id=MIGRATION, auto_agree=True)
        assert result.success, result.message
        [row] = [dict(r) for r in await sql("SELECT * FROM job")]
        assert "deaths" not in row and "quarantined_at" not in row
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
