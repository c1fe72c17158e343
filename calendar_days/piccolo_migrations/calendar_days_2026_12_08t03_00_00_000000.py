"""The official holiday calendar as data: calendar_year (a year whose schedule is
complete) and calendar_day (its holidays and adjusted working days)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date, SmallInt, Timestamptz, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-08T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_year and calendar_day"


def _column(table: str, name: str, column_class, **params) -> dict:
    return {
        "table_class_name": table,
        "tablename": "calendar_year" if table == "CalendarYear" else "calendar_day",
        "column_name": name,
        "db_column_name": name,
        "column_class_name": column_class.__name__,
        "column_class": column_class,
        "params": {
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
            **params,
        },
        "schema": None,
    }


COLUMNS = (
    _column("CalendarYear", "year", SmallInt, default=0, unique=True),
    _column("CalendarYear", "source", Varchar, length=200, default=""),
    _column("CalendarYear", "entered_by", Varchar, length=120, default=""),
    _column("CalendarYear", "entered_at", Timestamptz, default=TimestamptzNow()),
    _column("CalendarDay", "day", Date, default=DateNow(), unique=True),
    _column("CalendarDay", "year", SmallInt, default=0, index=True),
    _column("CalendarDay", "kind", Varchar, length=12, default=""),
    _column("CalendarDay", "name", Varchar, length=40, default=""),
    _column("CalendarDay", "source", Varchar, length=200, default=""),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="calendar_days", description=DESCRIPTION)
    manager.add_table(class_name="CalendarYear", tablename="calendar_year", schema=None, columns=None)
    manager.add_table(class_name="CalendarDay", tablename="calendar_day", schema=None, columns=None)
    for column in COLUMNS:
        manager.add_column(**column)
    return manager
