"""The objection's extension start: added, backfilled from the decision's Beijing date,
removed by backwards and added again by forwards."""

from __future__ import annotations

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, is_sqlite, make_engine
from registry.appraisals.piccolo_migrations import (
    appraisals_2026_12_08t12_00_01_000000 as backfill,
)
from tests.support import databases

COLUMN = "2026-12-08T12:00:00:000000"


async def sql(text: str) -> list[dict]:
    return [dict(r) for r in await engine().run_querystring(QueryString(text))]


async def columns() -> set[str]:
    if is_sqlite(engine()):
        return {r["name"] for r in await sql("PRAGMA table_info(talent_objection)")}
    rows = await sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'talent_objection'"
    )
    return {r["column_name"] for r in rows}


async def first_day(resolved_at: str) -> str:
    """What the backfill gives a decision at `resolved_at` (UTC)."""
    cast = "'{}'" if is_sqlite(engine()) else "timestamptz '{}'"
    [row] = await sql(f"SELECT {backfill.first_day(cast.format(resolved_at))} AS day")
    return str(row["day"])


async def test_the_column_comes_and_goes_and_counts_from_the_beijing_date(database_url, tmp_dir):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        assert "extended_from" in await columns()
        # 16:30 UTC on 8 December is 00:30 on 9 December in Beijing: its next day is the 10th.
        assert await first_day("2026-12-08 15:59:00+00:00") == "2026-12-09"
        assert await first_day("2026-12-08 16:30:00+00:00") == "2026-12-10"

        result = await run_backwards(app_name="appraisals", migration_id=COLUMN, auto_agree=True)
        assert result.success, result.message
        assert "extended_from" not in await columns()
        result = await run_forwards(app_name="appraisals", migration_id="all", fake=False)
        assert result.success, result.message
        assert "extended_from" in await columns()
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
