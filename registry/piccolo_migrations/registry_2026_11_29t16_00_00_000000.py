"""A person's town is indexed only where it is known.

People registered by an outcome import have no town yet: on a million-row report,
half a million NULL entries went into `person_town` for nothing, since a query by
town (`town = ...`) never matches NULL. The partial index serves the same queries."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-11-29T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "person_town indexes known towns only"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def known_only():
        await run_sql("DROP INDEX person_town")
        await run_sql("CREATE INDEX person_town ON person (town) WHERE town IS NOT NULL")

    async def every_row():
        await run_sql("DROP INDEX person_town")
        await run_sql("CREATE INDEX person_town ON person (town)")

    manager.add_raw(known_only)
    manager.add_raw_backwards(every_row)
    return manager
