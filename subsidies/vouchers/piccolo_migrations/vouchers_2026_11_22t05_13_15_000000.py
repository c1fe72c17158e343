"""The key that holds a person to the policy's vouchers per year: (person, year,
ordinal) is unique, so two concurrent issues cannot both take the same place."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-11-22T05:13:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "vouchers unique per person, year and ordinal"

STATEMENTS = (
    "CREATE UNIQUE INDEX voucher_person_year_ordinal ON voucher (person, year, ordinal)",
    "CREATE INDEX voucher_year_person ON voucher (year, person)",
)
NAMES = ("voucher_person_year_ordinal", "voucher_year_person")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="vouchers", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await run_sql(sql)

    async def drop_keys():
        for name in NAMES:
            await run_sql(f"DROP INDEX {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
