"""Keys the batch rules rely on. `batch_line_live_claim` is the database's own guard
against paying a claim twice: a claim may have at most one line that is pending or paid
(a failed line releases it for a later batch). Both engines support partial indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-11-28T21:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "one live line per claim; line numbers unique per batch"

STATEMENTS = (
    "CREATE UNIQUE INDEX batch_line_live_claim ON batch_line (claim) "
    "WHERE status IN ('pending', 'paid')",
    "CREATE UNIQUE INDEX batch_line_number ON batch_line (batch, line_no)",
    "CREATE INDEX claim_batch_id ON claim (batch_id)",
)
NAMES = ("batch_line_live_claim", "batch_line_number", "claim_batch_id")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="batches", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in NAMES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
