"""Raw SQL for migrations (composite unique indexes Piccolo cannot declare on SQLite)."""

from piccolo.querystring import QueryString


async def run_sql(sql: str) -> None:
    """Runs on the engine bound now, not one captured at import: a process may migrate
    several databases (tests migrate SQLite and PostgreSQL in one run)."""
    from kernel.db import engine

    await engine().run_querystring(QueryString(sql))
