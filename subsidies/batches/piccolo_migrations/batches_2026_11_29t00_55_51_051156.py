from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T00:55:51:051156"
VERSION = "1.38.0"
DESCRIPTION = "the digest of a batch's payees, accounts, amounts and references at submission"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="batches", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="DisbursementBatch",
        tablename="disbursement_batch",
        column_name="declared_digest",
        db_column_name="declared_digest",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
