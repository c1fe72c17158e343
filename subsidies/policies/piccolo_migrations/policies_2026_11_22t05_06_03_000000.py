"""(scheme, version) is unique: an index, as SQLite cannot ALTER TABLE ADD CONSTRAINT."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T05:06:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique policy version per scheme"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="policies", description=DESCRIPTION)

    async def create_keys():
        await run_sql("CREATE UNIQUE INDEX policy_version_key ON policy_version (scheme, version)")

    async def drop_keys():
        await run_sql("DROP INDEX policy_version_key")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
