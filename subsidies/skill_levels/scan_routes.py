"""`POST /api/v1/scans`: an officer starts the "policy finds people" scan now."""

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.schemas import Input, Output
from subsidies.skill_levels import scan

AnyRequest = Request[Principal, Any, Any]
Scheme = Annotated[str, msgspec.Meta(max_length=40)]


class ScanIn(Input):
    schemes: Annotated[list[Scheme], msgspec.Meta(max_length=20)] | None = None  # all scanned


class ScanStartedOut(Output):
    job_id: int
    job_url: str


class ScanController(Controller):
    path = "/api/v1/scans"
    tags = ["subsidies"]

    @post("/", guards=[allow(StaffRole.OFFICER, StaffRole.ADMIN)], status_code=HTTP_202_ACCEPTED)
    async def start(
        self, request: AnyRequest, data: JSONBody[ScanIn | None] = None
    ) -> ScanStartedOut:
        """Starts the scan that proposes subsidy claims for people entitled to them (officers,
        admins), for skill levels, studio grants or both."""
        job_id = await scan.request_scan(request.user, data.schemes if data else None)
        return ScanStartedOut(job_id=job_id, job_url=f"/api/v1/jobs/{job_id}")
