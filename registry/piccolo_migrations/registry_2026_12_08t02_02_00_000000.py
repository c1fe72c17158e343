"""How far the imported social-insurance data reached on a date is read on every
eligibility answer: the latest imported month recorded by then. Monthly files add a
period per person and month, so the table grows by the insured population each month;
this index lets that read walk back from the latest month and stop at the first period
recorded by the date, instead of scanning every import."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-12-08T02:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insured_period index for the latest imported month"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create():
        await run_sql(
            "CREATE INDEX insured_period_source_month ON insured_period (source, last_month)"
        )

    async def drop():
        await run_sql("DROP INDEX insured_period_source_month")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
