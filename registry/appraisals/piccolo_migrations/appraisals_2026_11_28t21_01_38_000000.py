"""One open application per person and round, one live award per person, and the
quota pool the documents name (100 leading talents in 2022-2025).
Piccolo's own Unique constraint is added by ALTER TABLE, which SQLite cannot do, so
these are (partial) indexes; both engines have them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-28T21:01:38:000000"
VERSION = "1.38.0"
DESCRIPTION = "one open application per person and round, one live award per person, the 2022-2025 pool"

STATEMENTS = (
    "CREATE UNIQUE INDEX talent_application_open ON talent_application (round, person) "
    "WHERE status NOT IN ('rejected', 'withdrawn')",
    "CREATE UNIQUE INDEX talent_award_live_person ON talent_award (person) "
    "WHERE status <> 'revoked'",
    # 东人社发〔2022〕20号: 100 skill leading talents over 2022-2025.
    "INSERT INTO talent_quota_pool (name, first_year, last_year, total, used, created_by, "
    "created_at, updated_at) VALUES ('2022-2025', 2022, 2025, 100, 0, 'migration', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
)
INDEXES = ("talent_application_open", "talent_award_live_person")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="appraisals", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in INDEXES:
            await run_sql(f"DROP INDEX {name}")
        await run_sql("DELETE FROM talent_quota_pool WHERE name = '2022-2025' AND used = 0")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
