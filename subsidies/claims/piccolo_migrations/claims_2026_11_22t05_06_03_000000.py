"""Keys the claim rules rely on. The partial unique index lets a withdrawn or rejected
claim be submitted again while never letting two live claims pay for the same thing
(both engines support partial indexes)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from kernel.migration_sql import run_sql

ID = "2026-11-22T05:06:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "live claims unique per dedupe key; budgets unique per scheme and year"

STATEMENTS = (
    "CREATE UNIQUE INDEX claim_live_key ON claim (dedupe_key) "
    "WHERE status NOT IN ('withdrawn', 'rejected')",
    "CREATE INDEX claim_scheme_status ON claim (scheme, status)",
    "CREATE INDEX claim_cap_key ON claim (cap_key)",
    "CREATE UNIQUE INDEX budget_key ON budget (scheme, year)",
)
NAMES = ("claim_live_key", "claim_scheme_status", "claim_cap_key", "budget_key")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="claims", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in NAMES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
