"""Poison jobs: how often a job's worker process died running it, and when it was
quarantined for that (workers.runner.MAX_DEATHS)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T21:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job deaths and quarantine"


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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="workers", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Job",
        tablename="job",
        column_name="deaths",
        db_column_name="deaths",
        column_class_name="Integer",
        column_class=Integer,
        params=_params(default=0),
        schema=None,
    )
    manager.add_column(
        table_class_name="Job",
        tablename="job",
        column_name="quarantined_at",
        db_column_name="quarantined_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(default=None, null=True),
        schema=None,
    )
    return manager
