"""Payment accounts: a person's CNAPS bank code (联行号), the kind of account, who last
set it and when, and the change awaiting a second officer; an organisation's bank code."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payment accounts: bank codes, account kind, the change awaiting confirmation"


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


_PERSON = (
    ("bank_code", Varchar, {"length": 12}),
    ("bank_account_kind", Varchar, {"length": 24}),
    ("bank_account_set_by", Varchar, {"length": 120}),
    ("bank_account_set_at", Timestamptz, {}),
    ("bank_account_unconfirmed_by", Varchar, {"length": 120}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    for name, column_class, extra in _PERSON:
        manager.add_column(
            table_class_name="Person",
            tablename="person",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=_params(**extra),
            schema=None,
        )
    manager.add_column(
        table_class_name="Organisation",
        tablename="organisation",
        column_name="bank_code",
        db_column_name="bank_code",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=12),
        schema=None,
    )
    return manager
