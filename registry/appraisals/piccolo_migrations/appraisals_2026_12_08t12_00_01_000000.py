"""Extensions granted before their first day was stored counted from the day after
their decision's Beijing date (UTC+8, no daylight saving)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.db import engine, is_sqlite
from kernel.migration_sql import run_sql

ID = "2026-12-08T12:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "objections: the first day of existing extensions"

WHERE = "WHERE extended_to IS NOT NULL AND extended_from IS NULL"


def first_day(moment: str) -> str:
    """SQL for the day after the Beijing date of the timestamp `moment`."""
    if is_sqlite(engine()):
        return f"date({moment}, '+8 hours', '+1 day')"
    return f"({moment} AT TIME ZONE 'Asia/Shanghai')::date + 1"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="appraisals", description=DESCRIPTION)

    async def backfill():
        await run_sql(
            f"UPDATE talent_objection SET extended_from = {first_day('resolved_at')} {WHERE}"
        )

    async def nothing():
        """The column goes with the previous migration's backwards step."""

    manager.add_raw(backfill)
    manager.add_raw_backwards(nothing)
    return manager
