from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get

from accounts.guards import anyone_signed_in
from accounts.principal import Principal
from kernel.schemas import Output
from kernel.web_params import RecordId
from workers.jobs_view import get_visible


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
