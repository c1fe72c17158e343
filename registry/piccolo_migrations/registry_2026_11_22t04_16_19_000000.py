"""Composite keys the outcome import and the API rely on; Piccolo's own Unique
constraint is added by ALTER TABLE, which SQLite cannot do, so these are indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T04:16:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys of certificates and training outcomes"

STATEMENTS = (
    "CREATE UNIQUE INDEX certificate_issuer_number ON certificate (issuer, number)",
    "CREATE UNIQUE INDEX training_outcome_key ON training_outcome "
    "(institution, person, course, start_date, end_date)",
    "CREATE INDEX certificate_level_issued ON certificate (level, issued_on)",
)



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in ("certificate_issuer_number", "training_outcome_key", "certificate_level_issued"):
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
