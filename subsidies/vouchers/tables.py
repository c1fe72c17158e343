from piccolo.columns import BigInt, Date, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation, Person
from subsidies.policies.tables import PolicyVersion


class Voucher(Table, tablename="voucher"):
    """A skill training voucher, from issue to redemption. (person, year, ordinal) is
    unique (a migration adds the index): the ordinal counts the person's vouchers of
    one calendar year up to the policy's per_person_per_year, so concurrent issues can
    never exceed it. Redemption is one conditional UPDATE from status `issued`, so a
    voucher is redeemed once. Face value and covered levels are fixed at issue."""

    number = Varchar(length=24, unique=True)  # DGV-2026-7K3Q-H9MW-XAZ (subsidies.vouchers.numbers)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    year = SmallInt()
    ordinal = SmallInt()
    policy_version = ForeignKey(references=PolicyVersion, on_delete=OnDelete.restrict)
    face_value_fen = BigInt()
    covers_levels = Varchar(length=20)  # "5,4,3"
    issued_on = Date()
    expires_on = Date()  # the last day it can be redeemed
    status = Varchar(length=16, default="issued", index=True)  # issued / redeemed / cancelled
    # The facts that made the person eligible on the issue day (JSON): the calculation
    # judges the policy's conditions on them, so a later change does not undo a voucher.
    facts = Text(default="{}")
    issued_by = Varchar(length=120)
    issue_job = Integer(null=True, default=None)  # the bulk issuance job, if any
    created_at = Timestamptz(default=TimestamptzNow())
    # Redemption: the institution that enrolled the holder, on which course.
    institution = ForeignKey(
        references=Organisation, on_delete=OnDelete.restrict, null=True, index=True
    )
    redeemed_on = Date(null=True, default=None)
    redeemed_at = Timestamptz(null=True, default=None)
    redeemed_by = Varchar(length=120, null=True, default=None)
    course = Varchar(length=100, null=True, default=None)
    occupation_code = Varchar(length=20, null=True, default=None)
    course_level = SmallInt(null=True, default=None)
    course_start = Date(null=True, default=None)
    course_fee_fen = BigInt(null=True, default=None)  # what the institution charges
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by = Varchar(length=120, null=True, default=None)
    cancel_reason = Text(null=True, default=None)
