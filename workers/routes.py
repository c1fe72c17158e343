from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.schemas import Output
from kernel.web_params import RecordId
from workers.jobs_view import get_visible
from workers.quarantine import requeue_quarantined


class JobOut(Output):
    id: int
    kind: str
    status: str
    progress: int
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    deaths: int  # times a worker process died running it
    quarantined_at: datetime | None  # set when those deaths stopped it for good


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    guards = [anyone_signed_in]

    @get("/{job_id:int}")
    async def get_job(self, job_id: RecordId, request: Request[Principal, Any, Any]) -> JobOut:
        """Returns a background job's status, progress, result or error: an organisation's jobs to
        it, staff the jobs they started, admins every job."""
        job = await get_visible(request.user, job_id)
        return msgspec.convert(job, JobOut, strict=False)

    @post("/{job_id:int}/requeue", guards=[allow(StaffRole.ADMIN)], status_code=200)
    async def requeue(self, job_id: RecordId, request: Request[Principal, Any, Any]) -> JobOut:
        """Queues a quarantined job again, with fresh attempts and deaths (admins).

        For when an admin has removed the cause: a worker with more memory, a fixed
        handler."""
        await requeue_quarantined(request.user, job_id)
        job = await get_visible(request.user, job_id)
        return msgspec.convert(job, JobOut, strict=False)
