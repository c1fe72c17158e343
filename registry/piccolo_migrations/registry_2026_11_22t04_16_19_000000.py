"""Composite keys the outcome import and the API rely on; Piccolo's own Unique
constraint is added by ALTER TABLE, which SQLite cannot do, so these are indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T04:16:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys of certificates and training outcomes"

STATEMENTS = (
    "CREATE UNIQUE INDEX certificate_issuer_number ON certificate (issuer, number)",
    "CREATE UNIQUE INDEX training_outcome_key ON training_outcome "
    "(institution, person, course, start_date, end_date)",
    "CREATE INDEX certificate_level_issued ON certificate (level, issued_on)",
)


class _Raw(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create_keys():
        for sql in STATEMENTS:
            await _Raw.raw(sql).run()

    async def drop_keys():
        for name in ("certificate_issuer_number", "training_outcome_key", "certificate_level_issued"):
            await _Raw.raw(f"DROP INDEX {name}").run()

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
