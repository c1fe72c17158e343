"""A batch line's payee bank code (联行号) as it was at build time, and the selection a
batch was built from."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T04:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "batch lines' bank codes and batches' selections"


def _params(**extra):
    return {
        "default": None,
        "null": True,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="batches", description=DESCRIPTION)
    manager.add_column(
        table_class_name="BatchLine",
        tablename="batch_line",
        column_name="payee_bank_code",
        db_column_name="payee_bank_code",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=12),
        schema=None,
    )
    manager.add_column(
        table_class_name="DisbursementBatch",
        tablename="disbursement_batch",
        column_name="selection",
        db_column_name="selection",
        column_class_name="Text",
        column_class=Text,
        params=_params(),
        schema=None,
    )
    return manager
