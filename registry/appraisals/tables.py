from piccolo.columns import (
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

from registry.tables import Organisation, Person
from reviews.tables import ReviewCase


class QuotaPool(Table, tablename="talent_quota_pool"):
    """How many leading talents may be approved over some years (the documents: 100 in
    2022-2025; a migration creates that pool). Approval takes one place with a
    conditional UPDATE (`used < total`), so concurrent approvals cannot exceed it."""

    name = Varchar(length=60, unique=True)
    first_year = SmallInt()
    last_year = SmallInt()
    total = Integer()
    used = Integer(default=0)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AppraisalRound(Table, tablename="appraisal_round"):
    """A year's call for applications, drawing on a quota pool; it may also have its
    own cap (`quota`, None: only the pool's), taken like the pool's."""

    pool = ForeignKey(references=QuotaPool, on_delete=OnDelete.restrict, index=True)
    year = SmallInt(index=True)
    title = Varchar(length=100)
    opens_on = Date()
    closes_on = Date()
    quota = Integer(null=True, default=None)
    approved = Integer(default=0)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TalentNotice(Table, tablename="talent_notice"):
    """One publication of a round's shortlist (公示)."""

    round = ForeignKey(references=AppraisalRound, on_delete=OnDelete.restrict, index=True)
    starts_on = Date()
    ends_on = Date()  # the last working day of the notice as published
    working_days = SmallInt()
    published_by = Varchar(length=120)
    published_at = Timestamptz(default=TimestamptzNow())


class TalentApplication(Table, tablename="talent_application"):
    """One application for one person in one round. A partial unique index allows one
    open application (any status but rejected or withdrawn) per person and round."""

    round = ForeignKey(references=AppraisalRound, on_delete=OnDelete.restrict, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    applicant = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    route = Varchar(length=16)  # recognition / evaluation
    occupation_code = Varchar(length=20)
    occupation_name = Varchar(length=60)
    status = Varchar(length=16, index=True)
    level_basis = Varchar(length=200)  # the certificate that showed senior worker or higher
    # Recognition route: the WorldSkills result.
    competition = Varchar(length=100, null=True, default=None)
    competition_year = SmallInt(null=True, default=None)
    medal = Varchar(length=8, null=True, default=None)  # gold / silver / bronze
    # Evaluation route: the evidence, JSON (frontline_years, achievements, patents, ...).
    evidence = Text(default="{}")
    review_case = ForeignKey(references=ReviewCase, on_delete=OnDelete.restrict, null=True)
    shortlisted_by = Varchar(length=120, null=True, default=None)
    shortlisted_at = Timestamptz(null=True, default=None)
    shortlist_rank = SmallInt(null=True, default=None)
    notice = ForeignKey(references=TalentNotice, on_delete=OnDelete.restrict, null=True)
    notice_ends_on = Date(null=True, default=None)  # this application's, after extensions
    decided_by = Varchar(length=120, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    rejected_reason = Text(null=True, default=None)
    applied_by = Varchar(length=120)
    applied_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TalentObjection(Table, tablename="talent_objection"):
    """An objection lodged by anyone during the notice; it pauses the application until
    an officer upholds or dismisses it."""

    application = ForeignKey(references=TalentApplication, on_delete=OnDelete.restrict, index=True)
    contact_name = Varchar(length=50)
    contact = Varchar(length=100)  # a phone number or an e-mail address
    reason = Text()
    status = Varchar(length=12, default="open", index=True)  # open / upheld / dismissed
    lodged_at = Timestamptz(default=TimestamptzNow())
    resolved_by = Varchar(length=120, null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    resolution = Text(null=True, default=None)
    extended_from = Date(null=True, default=None)  # an extension's first counted day
    extended_to = Date(null=True, default=None)


class TalentAward(Table, tablename="talent_award"):
    """The award a approval issues; one per application (unique) and one live award per
    person (partial unique index). The certificate document comes from the documents
    issue; until then the award is `awaiting_certificate`."""

    application = ForeignKey(references=TalentApplication, on_delete=OnDelete.restrict, unique=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    number = Varchar(length=40, unique=True)
    awarded_on = Date()
    status = Varchar(length=24, default="awaiting_certificate")
    approved_by = Varchar(length=120)
    revoked_on = Date(null=True, default=None)
    revoked_reason = Text(null=True, default=None)
    revoked_by = Varchar(length=120, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
