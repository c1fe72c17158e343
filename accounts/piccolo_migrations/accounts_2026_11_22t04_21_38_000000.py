"""One affiliation row per staff member, organisation and relation.
Piccolo's own Unique constraint is added by ALTER TABLE, which SQLite cannot do, so
these are indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T04:21:38:000000"
VERSION = "1.38.0"
DESCRIPTION = "one affiliation per staff member, organisation and relation"

STATEMENTS = (
    "CREATE UNIQUE INDEX staff_affiliation_key "
    "ON staff_affiliation (staff_user, organisation, relation)",
)
INDEXES = ("staff_affiliation_key",)



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in INDEXES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
