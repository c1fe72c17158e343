"""One review case per subject; one assignment per reviewer and case.
Piccolo's own Unique constraint is added by ALTER TABLE, which SQLite cannot do, so
these are indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T04:21:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "one review case per subject and one assignment per reviewer and case"

STATEMENTS = (
    "CREATE UNIQUE INDEX review_case_subject ON review_case (subject_type, subject_id)",
    "CREATE UNIQUE INDEX review_assignment_key ON review_assignment (review_case, reviewer)",
)
INDEXES = ("review_case_subject", "review_assignment_key")



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reviews", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in INDEXES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
