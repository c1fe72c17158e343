from piccolo.columns import BigInt, Date, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Certificate, Organisation, Person
from subsidies.policies.tables import PolicyVersion


class Claim(Table, tablename="claim"):
    """A request for money under one scheme, and (once decided) its amount: the row a
    disbursement batch pays. `dedupe_key` names what is being paid for (an intern's month,
    a person's level in an occupation, a voucher); a migration makes it unique among
    claims that are not withdrawn or rejected, so the same thing is never claimed twice.

    A calculation run does not write here: its results are rows of ClaimCalculation, and
    a SUBMITTED claim with one is "calculated" (subsidies.claims.calculations). The
    version, amount and cap key are copied onto the claim when it leaves SUBMITTED
    (approved, rejected, withdrawn, put on hold), so what is committed and paid reads the
    claim alone.

    Besides person's, the indexes are made by the migrations (piccolo_migrations/):
    (status, scheme), the live dedupe key (and a plain one on SQLite), cap_key, and the
    certificate and payee organisation where there is one."""

    scheme = Varchar(length=40)
    origin = Varchar(length=16)  # application / automatic (the scan) / award (appraisals)
    dedupe_key = Varchar(length=200)
    status = Varchar(length=16)
    claimant = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, null=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True, index=True)
    # Who is paid: the person (their account) or an organisation.
    payee_kind = Varchar(length=12)
    payee_organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, null=True)
    certificate = ForeignKey(references=Certificate, on_delete=OnDelete.restrict, null=True)
    basis_date = Date()  # the day that picks the policy version (month, issue date, ...)
    budget_year = SmallInt()
    details = Text(default="{}")  # what the claimant declared, JSON
    # The calculation's version, amount and cap key, once the claim left SUBMITTED.
    policy_version = ForeignKey(references=PolicyVersion, on_delete=OnDelete.restrict, null=True)
    amount_fen = BigInt(null=True, default=None)
    cap_key = Varchar(length=200, null=True, default=None)
    submitted_by = Varchar(length=120)
    submitted_at = Timestamptz(default=TimestamptzNow())
    account_confirmed_by = Varchar(length=120, null=True, default=None)
    account_confirmed_at = Timestamptz(null=True, default=None)
    decided_by = Varchar(length=120, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    reject_reason = Text(null=True, default=None)
    hold_reason = Text(null=True, default=None)
    recovery_reason = Text(null=True, default=None)  # paid, then its basis was revoked
    withdrawn_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    batch_id = Integer(null=True, default=None)  # the disbursement batch (issue 6)
    updated_at = Timestamptz(default=TimestamptzNow())


class ClaimCalculation(Table, tablename="claim_calculation"):
    """A calculation run's result for one claim: the version, the inputs it saw, the
    amount and why. Append-only and one per claim (a unique index on `claim`): a run
    inserts, never updates, so storing a million results writes a million narrow index
    entries instead of rewriting a million claims and every index of `claim` (the
    2026-11-29 migration has the figures). A claim is calculated once: it is SUBMITTED
    only once in its life.

    `claim` and `policy_version` are plain integers, not foreign keys: the run inserts
    only for claims it reads as SUBMITTED in the same statement, claims and versions are
    never deleted (their own foreign keys restrict it), and a foreign-key check per row
    was a quarter of the insert's time on PostgreSQL."""

    claim = Integer()
    job = Integer(null=True, default=None)
    policy_version = Integer(null=True, default=None)
    amount_fen = BigInt()
    cap_key = Varchar(length=200, null=True, default=None)
    # The values the calculator saw, a JSON list, named by the list `input_names` names
    # (CalculationInputNames.digest); before 2026-11-29T21 an object, with no names.
    inputs = Text(default="{}")
    input_names = Varchar(length=32, null=True, default=None)
    trace_digest = Varchar(length=32)  # CalculationTrace.digest
    calculated_at = Timestamptz(default=TimestamptzNow())


class CalculationTrace(Table, tablename="calculation_trace"):
    """A trace (JSON list of {zh, en} steps explaining an amount), stored once however
    many calculations it explains: a run's million claims fall into a few thousand
    distinct cases, and storing each claim's own copy was half of what a run wrote (the
    claims migration of 2026-11-29T09 has the figures). `digest` is the BLAKE2b-128 hex
    digest of `steps` (subsidies.claims.trace_store); unique (index in a migration).
    ClaimCalculation.trace_digest names it without a foreign key, like the table's
    other references (see ClaimCalculation)."""

    digest = Varchar(length=32)
    steps = Text()


class CalculationInputNames(Table, tablename="calculation_input_names"):
    """The names of a calculation's inputs (a JSON list, in the order of the values in
    ClaimCalculation.inputs), stored once: every claim a scheme's loader sees has the
    same names (the claims migration of 2026-11-29T21 has the figures). `digest` as
    CalculationTrace's; unique (index in that migration)."""

    digest = Varchar(length=32)
    names = Text()


class CapUsage(Table, tablename="cap_usage"):
    """Money already approved against a cap that spans claims (9,000 yuan per intern per
    programme; 50,000 yuan per person). Approval adds to `used_fen` with one conditional
    UPDATE, so concurrent approvals cannot both slip past the cap."""

    key = Varchar(length=200, unique=True)
    used_fen = BigInt(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())


class Budget(Table, tablename="budget"):
    """A scheme's money for one year; approvals commit against it with one conditional
    UPDATE. (scheme, year) is unique (index in a migration)."""

    scheme = Varchar(length=40)
    year = SmallInt()
    amount_fen = BigInt()
    committed_fen = BigInt(default=0)
    set_by = Varchar(length=120)
    updated_at = Timestamptz(default=TimestamptzNow())
