"""Insured months as dated periods, organisations' provinces and a graduate's school as
a registered organisation (registry.insured_months, registry.eligibility)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insured periods, organisation provinces, graduate schools"


class Organisation(Table, tablename="organisation", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra):
    return {
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


def _foreign_key(references, **extra):
    return _params(
        references=references,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.cascade,
        target_column=None,
        **extra,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    def add(table, tablename, name, column_class, params):
        manager.add_column(
            table_class_name=table,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    manager.add_table(
        class_name="InsuredPeriod", tablename="insured_period", schema=None, columns=None
    )
    period = ("InsuredPeriod", "insured_period")
    add(*period, "person", ForeignKey, _foreign_key(Person, index=True))
    add(*period, "first_month", Date, _params(default=None))
    add(*period, "last_month", Date, _params(default=None))
    add(*period, "employer_credit_code", Varchar, _params(length=18, default=None, null=True))
    add(*period, "source", Varchar, _params(length=16, default=""))
    add(*period, "source_file_sha256", Varchar, _params(length=64, default=None, null=True))
    add(*period, "recorded_on", Date, _params(default=None))
    add(*period, "recorded_by", Varchar, _params(length=120, default=""))
    add(*period, "created_at", Timestamptz, _params(default=TimestamptzNow()))

    add("Organisation", "organisation", "province", Varchar, _params(length=16, default=None, null=True))
    add(
        "Person",
        "person",
        "graduate_school_id",
        ForeignKey,
        _foreign_key(Organisation, default=None, null=True),
    )
    return manager
