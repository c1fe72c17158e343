"""One placement per host, intern, programme and start date (a repeated registration,
e.g. a retried request, answers 409). An index, because SQLite cannot add a UNIQUE
constraint by ALTER TABLE."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T05:12:34:000000"
VERSION = "1.38.0"
DESCRIPTION = "one placement per host, intern, programme and start date"

STATEMENTS = (
    "CREATE UNIQUE INDEX internship_placement_key "
    "ON internship_placement (host, person, programme, start_date)",
)
NAMES = ("internship_placement_key",)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="internships", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in NAMES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
