from piccolo.columns import (
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

from accounts.tables import StaffUser
from registry.tables import Organisation


class ReviewCase(Table, tablename="review_case"):
    """One expert review of one subject (a studio application, a talent application).
    (subject_type, subject_id) is unique (a migration adds it). The weights are kept on
    the case so the policy that scored it stays known."""

    subject_type = Varchar(length=32)
    subject_id = Integer()
    applicant = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    applied_at = Timestamptz()  # the subject's application time (a ranking tie-break)
    min_reviewers = SmallInt()
    weight_ethics = SmallInt()  # percent; the four add up to 100
    weight_knowledge = SmallInt()
    weight_ability = SmallInt()
    weight_achievements = SmallInt()
    status = Varchar(length=16, default="open", index=True)  # open / complete / cancelled
    # Hundredths of a point, rounded half-up once, at completion (reviews.scoring).
    final_score = Integer(null=True, default=None)
    achievements_score = Integer(null=True, default=None)
    opened_by = Varchar(length=120)
    opened_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)
    cancelled_reason = Text(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class ReviewAssignment(Table, tablename="review_assignment"):
    """A reviewer on a case. (review_case, reviewer) is unique (a migration adds it): a reviewer
    who stepped out of a case is not assigned to it again."""

    review_case = ForeignKey(references=ReviewCase, on_delete=OnDelete.restrict, index=True)
    reviewer = ForeignKey(references=StaffUser, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=16, default="pending")  # pending / submitted / recused / withdrawn
    assigned_by = Varchar(length=120)
    assigned_at = Timestamptz(default=TimestamptzNow())
    ethics = SmallInt(null=True, default=None)  # 0-100
    knowledge = SmallInt(null=True, default=None)
    ability = SmallInt(null=True, default=None)
    achievements = SmallInt(null=True, default=None)
    total = Integer(null=True, default=None)  # hundredths: sum of score x weight percent
    submitted_at = Timestamptz(null=True, default=None)
    # Why the reviewer stepped out (recused) or the officer took them off (withdrawn).
    reason = Text(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    ended_by = Varchar(length=120, null=True, default=None)
