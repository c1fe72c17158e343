from piccolo.columns import Date, SmallInt, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class CalendarYear(Table, tablename="calendar_year"):
    """A year whose official schedule is complete: only such a year's days are counted.
    `source`: the State Council's notice (国办发明电〔2025〕7号) or the library a
    migration seeded it from."""

    year = SmallInt(unique=True)
    source = Varchar(length=200)
    entered_by = Varchar(length=120)
    entered_at = Timestamptz(default=TimestamptzNow())


class CalendarDay(Table, tablename="calendar_day"):
    """One date of a year's schedule: a public holiday, or an adjusted working weekend
    day (调休上班, kind working_day), with the holiday's name (春节)."""

    day = Date(unique=True)
    year = SmallInt(index=True)
    kind = Varchar(length=12)
    name = Varchar(length=40)
    source = Varchar(length=200)  # the year's source when the date was entered
