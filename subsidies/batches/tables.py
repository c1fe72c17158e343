from piccolo.columns import BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation, Person
from subsidies.claims.tables import Claim


class DisbursementBatch(Table, tablename="disbursement_batch"):
    """Approved claims paid out together. From submission on the batch declares its line
    count and total; every later step re-adds the lines and fails the batch if they differ."""

    number = Varchar(length=20, unique=True)  # PB-2026-000001
    status = Varchar(length=16, index=True)  # draft, submitted, approved, closed, failed
    scheme = Varchar(length=40, null=True, default=None)  # the filter it was built with
    period_from = Date(null=True, default=None)
    period_to = Date(null=True, default=None)
    selection = Text(null=True, default=None)  # every filter it was built with, JSON
    declared_count = Integer(default=0)
    declared_total_fen = BigInt(default=0)
    # sha256 over every line's payee, account, bank, amount and reference at submission
    # (rules.lines_digest); None on batches submitted before it existed.
    declared_digest = Varchar(length=64, null=True, default=None)
    built_by = Varchar(length=120)
    submitted_at = Timestamptz(null=True, default=None)
    approved_by = Varchar(length=120, null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    failure_reason = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class BatchLine(Table, tablename="batch_line"):
    """One payment: a claim, its payee's account as it was when the batch was built, the
    amount, and a payment reference unique across all batches (the bank returns it)."""

    batch = ForeignKey(references=DisbursementBatch, on_delete=OnDelete.restrict, index=True)
    claim = ForeignKey(references=Claim, on_delete=OnDelete.restrict, index=True)
    line_no = Integer()
    scheme = Varchar(length=40)
    payee_kind = Varchar(length=12)  # person / organisation
    payee_name = Varchar(length=200)
    payee_account = Varchar(length=40)
    payee_bank = Varchar(length=100)
    payee_bank_code = Varchar(length=12, null=True, default=None)  # CNAPS, as at the build
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, null=True)
    amount_fen = BigInt()
    reference = Varchar(length=40, unique=True)
    status = Varchar(length=16)  # pending, paid, failed
    failure_reason = Text(null=True, default=None)
    settled_at = Timestamptz(null=True, default=None)
