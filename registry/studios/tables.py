from piccolo.columns import (
    Date,
    ForeignKey,
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


class Studio(Table, tablename="studio"):
    """A master studio from application to revocation. One person masters at most one
    studio that is applied, under review or established (a migration adds the index)."""

    host = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    master = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    occupation_code = Varchar(length=20, index=True)
    occupation_name = Varchar(length=60)
    plan = Text()
    # What qualified the master when they applied, e.g. "certificate 12 (level 2)".
    master_basis = Varchar(length=200)
    status = Varchar(length=16, default="applied", index=True)
    review_case = ForeignKey(references=ReviewCase, on_delete=OnDelete.restrict, null=True)
    level = Varchar(length=16, null=True, default=None, index=True)  # city/province/national
    established_on = Date(null=True, default=None)
    decided_by = Varchar(length=120, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    rejected_reason = Text(null=True, default=None)
    revoked_on = Date(null=True, default=None)
    revoked_reason = Text(null=True, default=None)
    revoked_by = Varchar(length=120, null=True, default=None)
    applied_by = Varchar(length=120)
    applied_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class StudioMember(Table, tablename="studio_member"):
    """An apprentice or member of a studio; (studio, person) is unique (migration)."""

    studio = ForeignKey(references=Studio, on_delete=OnDelete.restrict, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=16)  # apprentice / member


class StudioAssessment(Table, tablename="studio_assessment"):
    """The yearly assessment of an established studio; (studio, year) is unique."""

    studio = ForeignKey(references=Studio, on_delete=OnDelete.restrict, index=True)
    year = SmallInt()
    result = Varchar(length=8)  # pass / fail
    notes = Text(default="")
    recorded_by = Varchar(length=120)
    recorded_at = Timestamptz(default=TimestamptzNow())
