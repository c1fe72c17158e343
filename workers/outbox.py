"""Writing jobs in the caller's transaction and handing them to the broker after commit."""

from __future__ import annotations

import json
import logging
from typing import Any

from kernel.clock import utcnow
from kernel.db import after_commit, in_unit_of_work
from workers import kinds
from workers.status import JobStatus
from workers.tables import Job

log = logging.getLogger(__name__)


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    created_by: str,
    organisation_id: int | None = None,
    max_attempts: int = 5,
) -> int:
    """Adds a pending job to the open unit of work; it is sent only if that commits."""
    if not in_unit_of_work():
        raise RuntimeError("enqueue() must run inside the unit of work of the domain change")
    if not kinds.known(kind):
        raise LookupError(f"no handler for job kind {kind!r}")
    rows = (
        await Job.insert(
            Job(
                kind=kind,
                payload=json.dumps(payload, sort_keys=True),
                status=JobStatus.PENDING,
                created_by=created_by,
                organisation=organisation_id,
                max_attempts=max_attempts,
            )
        )
        .returning(Job.id)
        .run()
    )
    job_id = rows[0]["id"]
    after_commit(lambda: dispatch(job_id))
    return job_id


async def dispatch(job_id: int) -> None:
    """Sends one job to the broker. A failure is logged, not raised: the job row is
    committed and the sweeper will send it later."""
    from workers.broker import send_job

    try:
        await send_job(job_id)
    except Exception:
        log.exception("sending job %s failed; the sweeper will resend it", job_id)
        return
    await Job.update({Job.sent_at: utcnow()}).where(Job.id == job_id).run()
