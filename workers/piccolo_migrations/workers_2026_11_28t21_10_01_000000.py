"""The key that makes a daily task run once a day across every sweeper and host."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-28T21:10:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "daily_run unique per name and day"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="workers", description=DESCRIPTION)

    async def create_key():
        await run_sql("CREATE UNIQUE INDEX daily_run_key ON daily_run (name, day)")

    async def drop_key():
        await run_sql("DROP INDEX daily_run_key")

    manager.add_raw(create_key)
    manager.add_raw_backwards(drop_key)
    return manager
