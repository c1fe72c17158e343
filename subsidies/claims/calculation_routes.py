"""Starting a calculation run over HTTP: the run itself is the job
"subsidies.calculate" (subsidies.claims.calculation)."""

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.schemas import Input, Output
from kernel.web_params import MAX_ID
from subsidies.claims import calculation

ClaimId = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]


class CalculationRunIn(Input):
    scheme: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    # Default: every SUBMITTED claim of the scheme. Claims of other schemes, or no longer
    # SUBMITTED, are left alone.
    claim_ids: list[ClaimId] | None = None


class CalculationRunOut(Output):
    job_id: int
    job_url: str


class CalculationRunController(Controller):
    path = "/api/v1/calculation-runs"
    tags = ["claims"]
    guards = [allow(StaffRole.OFFICER, StaffRole.ADMIN)]

    @post("/", status_code=HTTP_202_ACCEPTED)
    async def start(
        self, data: JSONBody[CalculationRunIn], request: Request[Principal, Any, Any]
    ) -> CalculationRunOut:
        """Starts a job that calculates a scheme's submitted claims (officers, admins), all of them
        or only the named ones."""
        job_id = await calculation.request_run(request.user, data.scheme, data.claim_ids)
        return CalculationRunOut(job_id=job_id, job_url=f"/api/v1/jobs/{job_id}")
