from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation


class ClaimFile(Table, tablename="claim_file"):
    """One uploaded file of claims under one scheme, and what its job made of it:
    accepted rows became claims, duplicate rows named a live claim, rejected rows are
    in the error file and changed nothing."""

    scheme = Varchar(length=40)
    claimant = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    job_id = Integer(null=True, default=None)
    status = Varchar(length=16, default="pending")  # pending / done / failed
    filename = Varchar(length=200)
    file_format = Varchar(length=8)  # csv / xlsx
    encoding = Varchar(length=16, null=True, default=None)
    size_bytes = Integer()
    sha256 = Varchar(length=64)
    stored_path = Varchar(length=300)
    total_rows = Integer(null=True, default=None)
    accepted = Integer(null=True, default=None)
    duplicate = Integer(null=True, default=None)
    rejected = Integer(null=True, default=None)
    result_csv_path = Varchar(length=300, null=True, default=None)
    error_csv_path = Varchar(length=300, null=True, default=None)
    error_xlsx_path = Varchar(length=300, null=True, default=None)
    failure = Text(null=True, default=None)
    # Who uploaded it (audit label) and, for the job's builders, as whom it acts.
    uploaded_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
