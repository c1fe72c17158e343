from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Organisation(Table, tablename="organisation"):
    """An enterprise, training institution, skill-evaluation organisation or school."""

    name = Varchar(length=200)
    org_type = Varchar(length=32, index=True)
    credit_code = Varchar(length=18, unique=True)
    town = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    # Where payments go (issue 6 reads these); empty until an officer records them.
    bank_name = Varchar(length=100, null=True, default=None)
    bank_account = Varchar(length=40, null=True, default=None)
    bank_account_name = Varchar(length=200, null=True, default=None)
    # Full name of the provincial-level division (registry.provinces); schools need one.
    province = Varchar(length=16, null=True, default=None)
    bank_code = Varchar(length=12, null=True, default=None)  # CNAPS 联行号, when known


class Person(Table, tablename="person"):
    """One person per resident ID (GB 11643); birth date and sex come from the ID."""

    id_number = Varchar(length=18, unique=True)
    name = Varchar(length=50)
    birth_date = Date()
    sex = Varchar(length=1)  # M / F, from the 17th digit
    hukou = Varchar(length=16, default="unknown")  # local / non_local / unknown
    phone = Varchar(length=20, null=True, default=None)
    town = Varchar(length=16, null=True, default=None, index=True)  # home town in Dongguan
    # Dongguan pension insurance, derived from InsuredPeriod (every month recorded so
    # far, and the latest recording) for the scans that read one figure per person.
    insured_months = Integer(null=True, default=None)
    insured_confirmed_on = Date(null=True, default=None)
    fresh_graduate = Boolean(default=False)  # of a technical/vocational school
    graduate_school = Varchar(length=100, null=True, default=None)  # as written
    graduate_school_id = ForeignKey(
        references=Organisation, on_delete=OnDelete.restrict, null=True, default=None
    )
    graduate_year = SmallInt(null=True, default=None)
    # An ID whose region code python-stdnum does not know: kept, for an officer to confirm.
    region_warning = Varchar(length=200, null=True, default=None)
    region_confirmed_by = Varchar(length=120, null=True, default=None)
    # Payments to a person go to the financial account of their social security card.
    bank_name = Varchar(length=100, null=True, default=None)
    bank_account = Varchar(length=40, null=True, default=None)
    bank_code = Varchar(length=12, null=True, default=None)  # CNAPS 联行号, when known
    bank_account_kind = Varchar(length=24, null=True, default=None)  # registry.payment_accounts
    bank_account_set_by = Varchar(length=120, null=True, default=None)
    bank_account_set_at = Timestamptz(null=True, default=None)
    # Who changed the account while a claim of the person was unpaid: until another
    # officer confirms the change, none of the person's claims is batched.
    bank_account_unconfirmed_by = Varchar(length=120, null=True, default=None)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InsuredPeriod(Table, tablename="insured_period"):
    """Months of Dongguan pension insurance as recorded on a day (registry.insured_months):
    entered by an officer, imported from the social-insurance system's monthly file, or
    carried over from the single figure a person record held."""

    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    first_month = Date()  # first day of the month
    last_month = Date()
    employer_credit_code = Varchar(length=18, null=True, default=None)
    source = Varchar(length=16)  # officer / import / legacy
    source_file_sha256 = Varchar(length=64, null=True, default=None)
    recorded_on = Date()  # what was known on a date counts only periods recorded by then
    recorded_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())


class Certificate(Table, tablename="certificate"):
    """A vocational skill certificate; (issuer, number) is unique (a migration adds it).
    On PostgreSQL `person` and `issuer` are checked once per statement, not by declared
    keys (kernel.statement_foreign_keys; registry migration of 2026-11-29T13)."""

    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    occupation_code = Varchar(length=20, index=True)
    occupation_name = Varchar(length=60)
    level = SmallInt()  # 1 senior technician ... 5 junior worker
    number = Varchar(length=40)
    issuer = ForeignKey(references=Organisation, on_delete=OnDelete.restrict)
    issued_on = Date(index=True)
    route = Varchar(length=40)
    status = Varchar(length=16, default="valid")  # valid / revoked
    revoked_reason = Text(null=True, default=None)
    revoked_on = Date(null=True, default=None)
    revoked_by = Varchar(length=120, null=True, default=None)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())


class OutcomeReport(Table, tablename="outcome_report"):
    """One uploaded file of training outcomes and what its processing found."""

    institution = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    job_id = Integer(null=True, default=None)  # workers' job (no FK: workers depends on us)
    filename = Varchar(length=200)
    file_format = Varchar(length=8)  # csv / xlsx
    encoding = Varchar(length=16, null=True, default=None)
    size_bytes = Integer()
    sha256 = Varchar(length=64)
    stored_path = Varchar(length=300)
    status = Varchar(length=16, default="queued")  # queued / done / failed
    total_rows = Integer(null=True, default=None)
    accepted = Integer(null=True, default=None)
    updated = Integer(null=True, default=None)
    unchanged = Integer(null=True, default=None)
    rejected = Integer(null=True, default=None)
    late = Integer(null=True, default=None)
    error_csv_path = Varchar(length=300, null=True, default=None)
    error_xlsx_path = Varchar(length=300, null=True, default=None)
    uploaded_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class TrainingOutcome(Table, tablename="training_outcome"):
    """A course result reported by a training institution. Unique per institution,
    person, course and dates (a migration adds the constraint). On PostgreSQL its four
    references are checked once per statement, not by declared keys
    (kernel.statement_foreign_keys; registry migration of 2026-11-29T13)."""

    institution = ForeignKey(references=Organisation, on_delete=OnDelete.restrict)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    course = Varchar(length=100)
    occupation_code = Varchar(length=20)
    occupation_name = Varchar(length=60)
    hours = Integer()
    start_date = Date()
    end_date = Date(index=True)
    passed = Boolean()
    certificate = ForeignKey(references=Certificate, on_delete=OnDelete.restrict, null=True)
    late = Boolean(default=False)  # reported more than OUTCOME_LATE_DAYS after the course
    report = ForeignKey(references=OutcomeReport, on_delete=OnDelete.restrict, null=True)
    reported_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Employment(Table, tablename="employment"):
    """Who works where: an enterprise reports its employees (subsidies ask whether a person
    is employed by a Dongguan enterprise and insured there on a given day)."""

    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    employer = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    started_on = Date()
    ended_on = Date(null=True, default=None)  # open while still employed
    insured = Boolean(default=True)  # the employer pays Dongguan social insurance for them
    reported_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())


class PaymentAccountProposal(Table, tablename="payment_account_proposal"):
    """An employer's proposal of an employee's payment account; it changes nothing until
    an officer confirms it (registry.payment_account_proposals)."""

    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict)
    bank_name = Varchar(length=100)
    bank_code = Varchar(length=12, null=True, default=None)
    bank_account = Varchar(length=40)
    kind = Varchar(length=24)
    status = Varchar(length=16, default="pending")  # pending / confirmed / rejected
    proposed_by = Varchar(length=120)
    proposed_at = Timestamptz(default=TimestamptzNow())
    decided_by = Varchar(length=120, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    reject_reason = Text(null=True, default=None)
