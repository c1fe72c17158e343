"""Reading a job, for whoever started it."""

from __future__ import annotations

import json
from typing import Any

from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.errors import NotFound, NotVisible
from workers.tables import Job


async def get_visible(actor: Principal, job_id: int) -> dict[str, Any]:
    """An organisation sees its organisation's jobs; staff see the jobs they started,
    and admins every job. Anything else answers like a missing job."""
    job = (
        await Job.select(
            Job.id,
            Job.kind,
            Job.status,
            Job.progress,
            Job.attempts,
            Job.result,
            Job.error,
            Job.created_by,
            Job.organisation,
            Job.created_at,
            Job.updated_at,
            Job.finished_at,
            Job.deaths,
            Job.quarantined_at,
        )
        .where(Job.id == job_id)
        .first()
        .run()
    )
    if job is None:
        raise NotFound("job not found", job_id=job_id)
    if actor.is_staff:
        visible = job["created_by"] == actor.actor or actor.has_any(StaffRole.ADMIN)
    else:
        visible = job["organisation"] == actor.organisation_id
    if not visible:
        raise NotVisible("job not found", job_id=job_id)
    job["result"] = json.loads(job["result"]) if job["result"] else None
    return job
