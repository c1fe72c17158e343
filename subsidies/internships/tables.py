from piccolo.columns import Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation, Person


class Placement(Table, tablename="internship_placement"):
    """An intern at a host enterprise under one programme (e.g. "百校千人-2026"), with
    the insurance the host bought for them. Each reported month is a Claim (scheme
    "internship", dedupe key "internship:{placement}:{YYYY-MM}"); the months and money
    are capped per intern per programme across every host. (host, person, programme,
    start_date) is unique (a migration adds the index)."""

    host = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    school = Varchar(length=100)
    programme = Varchar(length=60, index=True)
    start_date = Date()
    end_date = Date()
    # The intern's insurance (the documents require the host to insure every intern).
    insurance_reference = Varchar(length=60)
    insured_from = Date()
    insured_to = Date()
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class MonthFile(Table, tablename="internship_month_file"):
    """One uploaded file of monthly attendance reports and what it produced."""

    host = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    filename = Varchar(length=200)
    file_format = Varchar(length=8)  # csv / xlsx
    encoding = Varchar(length=16, null=True, default=None)
    size_bytes = Integer()
    sha256 = Varchar(length=64)
    stored_path = Varchar(length=300)
    total_rows = Integer(default=0)
    accepted = Integer(default=0)
    duplicate = Integer(default=0)
    rejected = Integer(default=0)
    error_csv_path = Varchar(length=300, null=True, default=None)
    error_xlsx_path = Varchar(length=300, null=True, default=None)
    uploaded_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
