"""The calendar's migrations: every year the chinesecalendar library covers is seeded and
marked complete; backwards removes the seeded years but keeps those an admin entered,
then drops the tables; forwards again rebuilds them."""

from __future__ import annotations

import chinese_calendar
from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from tests.support import databases

TABLES = "2026-12-08T03:00:00:000000"
SEED = "2026-12-08T03:00:01:000000"


async def sql(text: str) -> list[dict]:
    return [dict(r) for r in await engine().run_querystring(QueryString(text))]


async def test_the_library_years_are_seeded_and_backwards_undoes_only_them(database_url, tmp_dir):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        years = await sql("SELECT year, source, entered_by FROM calendar_year ORDER BY year")
        source = f"chinesecalendar {chinese_calendar.__version__}"
        assert [y["year"] for y in years] == list(range(2004, years[-1]["year"] + 1))
        assert years[-1]["year"] >= 2026
        assert {(y["source"], y["entered_by"]) for y in years} == {(source, "migration")}
        [count] = await sql("SELECT COUNT(*) AS n FROM calendar_day")
        assert count["n"] == len(chinese_calendar.holidays) + len(chinese_calendar.workdays)
        [spring] = await sql("SELECT kind, name, source FROM calendar_day WHERE day = '2026-02-17'")
        assert spring == {"kind": "holiday", "name": "春节", "source": source}

        await sql(
            "INSERT INTO calendar_year (year, source, entered_by, entered_at) "
            "VALUES (2040, 'x', 'staff:1', CURRENT_TIMESTAMP)"
        )
        await sql(
            "INSERT INTO calendar_day (day, year, kind, name, source) "
            "VALUES ('2040-01-01', 2040, 'holiday', '元旦', 'x')"
        )
        result = await run_backwards(app_name="calendar_days", migration_id=SEED, auto_agree=True)
        assert result.success, result.message
        assert await sql("SELECT year FROM calendar_year") == [{"year": 2040}]
        assert len(await sql("SELECT day FROM calendar_day")) == 1

        result = await run_backwards(app_name="calendar_days", migration_id=TABLES, auto_agree=True)
        assert result.success, result.message
        result = await run_forwards(app_name="calendar_days", migration_id="all", fake=False)
        assert result.success, result.message
        [count] = await sql("SELECT COUNT(*) AS n FROM calendar_year")
        assert count["n"] == len(years)
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
