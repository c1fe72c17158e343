"""Audit jobs: verifying the whole chain can take minutes on a large log."""

from typing import Any

from audit.log import record, verify_all
from workers.kinds import job_handler
from workers.runner import JobContext

VERIFY_CHAIN = "audit.verify_chain"


@job_handler(VERIFY_CHAIN)
async def verify_chain(ctx: JobContext) -> dict[str, Any]:
    verification = await verify_all()
    check = verification.check
    result = {
        "unsealed": verification.unsealed,
        "ok": check.ok,
        "checked": check.checked,
        "head_seq": check.head_seq,
        "head_hash": check.head_hash,
        "first_bad_seq": check.first_bad_seq,
        "reason": check.reason,
    }
    async with ctx.finishing(result):
        await record(ctx.actor, "audit.verified", "audit_chain", check.head_seq, after=result)
    return result
