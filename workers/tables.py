from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation


class Job(Table, tablename="job"):
    """A unit of slow or crash-surviving work, written in the same transaction as the
    domain change that needs it (the outbox)."""

    kind = Varchar(length=64, index=True)
    payload = Text()  # JSON of ids, never objects
    status = Varchar(length=16, index=True)  # workers.status.JobStatus
    attempts = Integer(default=0)
    max_attempts = Integer(default=5)
    progress = Integer(default=0)
    result = Text(null=True, default=None)
    error = Text(null=True, default=None)
    created_by = Varchar(length=120)
    organisation = ForeignKey(
        references=Organisation, null=True, default=None, on_delete=OnDelete.restrict
    )
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    not_before = Timestamptz(null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    # Times a worker process died (its lease expired) while running this job; at
    # workers.runner.MAX_DEATHS the job is failed and quarantined: never run again.
    deaths = Integer(default=0)
    quarantined_at = Timestamptz(null=True, default=None)


class DailyRun(Table, tablename="daily_run"):
    """A task done once a day across every process (the automatic scan): (name, day)
    is unique (index in a migration), so of many sweepers on many hosts exactly one
    inserts the day's row, in the transaction that queues the day's job."""

    name = Varchar(length=64)
    day = Date()
    job_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
