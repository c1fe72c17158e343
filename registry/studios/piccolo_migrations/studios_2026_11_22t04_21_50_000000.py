"""One member row per person and studio, one assessment per studio and year, one
live studio per master.
Piccolo's own Unique constraint is added by ALTER TABLE, which SQLite cannot do, so
these are indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T04:21:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "one member row per person and studio, one assessment per year, one live studio per master"

STATEMENTS = (
    "CREATE UNIQUE INDEX studio_member_key ON studio_member (studio, person)",
    "CREATE UNIQUE INDEX studio_assessment_key ON studio_assessment (studio, year)",
    # A partial index (SQLite and PostgreSQL both have them): a rejected or revoked
    # studio does not stop its master from applying again.
    "CREATE UNIQUE INDEX studio_live_master ON studio (master) "
    "WHERE status IN ('applied', 'under_review', 'established')",
)
INDEXES = ("studio_member_key", "studio_assessment_key", "studio_live_master")



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="studios", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in INDEXES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
