from typing import Any

from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_202_ACCEPTED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from audit.log import list_entries, verify_all
from audit.verification import request_verification
from kernel.errors import InvalidInput
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Output
from kernel.web_params import Cursor, Limit, QueryText


class AuditEntryOut(Output):
    id: int
    seq: int | None  # empty until sealed into the chain, a moment after commit
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: str | None
    after: str | None
    request_id: str
    prev_hash: str | None
    hash: str | None


class AuditPage(Output):
    items: list[AuditEntryOut]
    next_cursor: str | None


class ChainCheckOut(Output):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    unsealed: int


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [allow(StaffRole.AUDITOR, StaffRole.ADMIN)]

    @get("/")
    async def list_audit(
        self,
        cursor: Cursor = None,
        limit: Limit = 100,
        action: QueryText = None,
    ) -> AuditPage:
        """Lists audit log entries, a page at a time, optionally of one action (auditors,
        admins)."""
        if action is not None and (len(action) > 80 or "\x00" in action):
            raise InvalidInput.single("action", "at most 80 characters, no NUL")
        rows = await list_entries(decode_cursor(cursor), check_limit(limit), action)
        return AuditPage(
            items=[AuditEntryOut(**r) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/verify")
    async def verify(self) -> ChainCheckOut:
        """Seals pending audit entries into the hash chain and checks the whole chain (auditors,
        admins)."""
        verification = await verify_all()
        return ChainCheckOut(**verification.check.__dict__, unsealed=verification.unsealed)

    @post("/verifications", status_code=HTTP_202_ACCEPTED)
    async def start_verification(self, request: Request[Principal, Any, Any]) -> dict[str, Any]:
        """Starts a job that seals and checks the audit hash chain (auditors, admins), for logs too
        long to check in one request."""
        job_id = await request_verification(request.user)
        return {"job_id": job_id, "job_url": f"/api/v1/jobs/{job_id}"}
