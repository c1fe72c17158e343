"""An extension's first counted day, stored with its end so a recount starts there."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "objections: the first day an extension counted"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="appraisals", description=DESCRIPTION)
    manager.add_column(
        table_class_name="TalentObjection",
        tablename="talent_objection",
        column_name="extended_from",
        db_column_name="extended_from",
        column_class_name="Date",
        column_class=Date,
        params={
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
