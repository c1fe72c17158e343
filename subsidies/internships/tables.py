from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInt,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation, Person


class Programme(Table, tablename="internship_programme"):
    """An internship programme the bureau registers (e.g. the 2023 "百校千人" plan):
    hosts choose one for each placement, and the months and money are capped per intern
    per programme. The rate, months and cap default to the policy version in force on
    the start date and never exceed it. (name_key, plan_year) is unique (a migration
    adds the index): name_key is the name without width, spaces or punctuation
    differences, so "百校千人-2026" and "百校千人 2026" are one programme.
    `needs_review`: created by the migration from hosts' free-text names, until an
    officer confirms it."""

    name = Varchar(length=60)
    name_key = Varchar(length=60)
    plan_year = SmallInt()
    scheme = Varchar(length=40)
    monthly_rate_fen = BigInt()
    max_months = SmallInt()
    cap_per_intern_fen = BigInt()
    start_date = Date()
    end_date = Date()
    needs_review = Boolean(default=False)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Placement(Table, tablename="internship_placement"):
    """An intern at a host enterprise under one registered programme, with the insurance
    the host bought for them. Each reported month is a Claim (scheme "internship",
    dedupe key "internship:{placement}:{YYYY-MM}"); the months and money are capped per
    intern per programme across every host. (host, person, programme_id, start_date) is
    unique where programme_id is set, and (host, person, programme, start_date) always
    (migrations add the indexes).

    `programme` is the programme's name when the placement was registered (before
    programmes were registered: the name the host typed). A placement the migration
    could not map has no `programme_id`: it takes no months and is paid nothing until an
    officer maps it to a registered programme (placement_mapping)."""

    host = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    school = Varchar(length=100)
    programme = Varchar(length=60, index=True)
    programme_id = ForeignKey(
        references=Programme, on_delete=OnDelete.restrict, null=True, index=True
    )
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
