"""Starting a chain verification as a job."""

from accounts.principal import Principal
from audit.jobs import VERIFY_CHAIN
from audit.log import record
from kernel.db import unit_of_work
from workers.outbox import enqueue


async def request_verification(actor: Principal) -> int:
    async with unit_of_work():
        job_id = await enqueue(VERIFY_CHAIN, {}, created_by=actor.actor)
        await record(actor.actor, "audit.verification_requested", "job", job_id)
    return job_id
