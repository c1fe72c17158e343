"""Sending a quarantined job (workers.runner.MAX_DEATHS) back to the queue."""

from __future__ import annotations

from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.db import after_commit, unit_of_work
from kernel.errors import Conflict, NotFound
from workers.outbox import dispatch
from workers.status import JobStatus
from workers.tables import Job


async def requeue_quarantined(actor: Principal, job_id: int) -> None:
    """Pending again with its attempts and deaths at zero, audited; 409 for a job that
    is not quarantined (a plain failure is the handler's verdict, not a crash's)."""
    async with unit_of_work():
        now = utcnow()
        rows = (
            await Job.update(
                {
                    Job.status: JobStatus.PENDING,
                    Job.attempts: 0,
                    Job.deaths: 0,
                    Job.quarantined_at: None,
                    Job.finished_at: None,
                    Job.not_before: None,
                    Job.sent_at: None,
                    Job.updated_at: now,
                }
            )
            .where(
                (Job.id == job_id)
                & (Job.status == JobStatus.FAILED)
                & Job.quarantined_at.is_not_null()
            )
            .returning(Job.id, Job.error)
            .run()
        )
        if not rows:
            if not await Job.exists().where(Job.id == job_id).run():
                raise NotFound("job not found", job_id=job_id)
            raise Conflict(
                "only a quarantined job can be re-queued 只有已隔离的任务可以重新排队",
                job_id=job_id,
            )
        await record(
            actor.actor,
            "job.requeued",
            "job",
            job_id,
            before={"status": JobStatus.FAILED, "error": rows[0]["error"]},
            after={"status": JobStatus.PENDING},
        )
        after_commit(lambda: dispatch(job_id))
