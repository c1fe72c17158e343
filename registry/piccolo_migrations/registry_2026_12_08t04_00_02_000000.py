"""Employers' proposals of their employees' payment accounts, for an officer to confirm."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T04:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "employers' proposals of payment accounts"


class Organisation(Table, tablename="organisation", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra):
    return {
        "default": "",
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


def _reference(table, index):
    return _params(
        references=table,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.cascade,
        target_column=None,
        default=None,
        null=True,
        index=index,
    )


_COLUMNS = (
    ("person", ForeignKey, _reference(Person, True)),
    ("organisation", ForeignKey, _reference(Organisation, False)),
    ("bank_name", Varchar, _params(length=100)),
    ("bank_code", Varchar, _params(length=12, default=None, null=True)),
    ("bank_account", Varchar, _params(length=40)),
    ("kind", Varchar, _params(length=24)),
    ("status", Varchar, _params(length=16, default="pending")),
    ("proposed_by", Varchar, _params(length=120)),
    ("proposed_at", Timestamptz, _params(default=TimestamptzNow())),
    ("decided_by", Varchar, _params(length=120, default=None, null=True)),
    ("decided_at", Timestamptz, _params(default=None, null=True)),
    ("reject_reason", Text, _params(default=None, null=True)),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_table(
        class_name="PaymentAccountProposal",
        tablename="payment_account_proposal",
        schema=None,
        columns=None,
    )
    for name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name="PaymentAccountProposal",
            tablename="payment_account_proposal",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
