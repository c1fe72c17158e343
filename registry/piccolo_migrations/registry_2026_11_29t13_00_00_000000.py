"""PostgreSQL: the foreign keys of training outcomes and certificates are checked once
per statement (kernel.statement_foreign_keys) instead of row by row.

The outcome import inserts up to a million outcomes and hundreds of thousands of
certificates in one transaction. Declared keys cost a query and a lock on the parent
per row and key: on a slow VM, 1M outcomes took 48.7 s with their four keys and 17.7 s
with none, and the certificates' two keys another 5 s. The statement-level checks
refuse the same rows (SQLSTATE 23503) at the end of each statement.

SQLite keeps its declared keys: they cost it about 6% of an insert.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.db import engine, is_sqlite
from kernel.migration_sql import run_sql
from kernel.statement_foreign_keys import Reference, install, uninstall

ID = "2026-11-29T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "training outcome and certificate keys checked per statement (PostgreSQL)"

REFERENCES = [
    Reference("training_outcome", "institution", "organisation"),
    Reference("training_outcome", "person", "person"),
    Reference("training_outcome", "certificate", "certificate"),
    Reference("training_outcome", "report", "outcome_report"),
    Reference("certificate", "person", "person"),
    Reference("certificate", "issuer", "organisation"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def per_statement():
        if not is_sqlite(engine()):
            for sql in install(REFERENCES):
                await run_sql(sql)

    async def per_row():
        if not is_sqlite(engine()):
            for sql in uninstall(REFERENCES):
                await run_sql(sql)

    manager.add_raw(per_statement)
    manager.add_raw_backwards(per_row)
    return manager
