"""A document is stored once per (kind, subject): a retried or duplicated render job
inserts nothing the second time (both engines support this unique index)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-11-28T21:20:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "one document per kind and subject"

STATEMENTS = ("CREATE UNIQUE INDEX document_kind_subject ON document (kind, subject)",)
NAMES = ("document_kind_subject",)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="certificates", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in NAMES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
