"""Cancelling a submitted batch: before approval no payment file exists, so no money
can have left; its claims go back to the pool for a later batch. Once approved, a batch
is settled only by the bank's return file (a failed batch keeps its claims: the money
may be at the bank)."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput
from subsidies.batches import rules
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.batches.totals import load_batch
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

REASON_MAX = 1000


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput([FieldError("reason", "say why the batch is cancelled")])
    if len(text) > REASON_MAX:
        raise InvalidInput([FieldError("reason", f"at most {REASON_MAX} characters")])
    return text


async def cancel(actor: Principal, batch_id: int, reason: str) -> dict[str, Any]:
    reason = check_reason(reason)
    async with unit_of_work():
        batch = await load_batch(batch_id, lock=True)
        if batch["status"] != rules.SUBMITTED:
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}; only a submitted batch (not "
                "yet approved) can be cancelled",
                field="status",
            )
        now = utcnow()
        lines = (
            await BatchLine.update(
                {
                    BatchLine.status: rules.LINE_CANCELLED,
                    BatchLine.failure_reason: reason,
                    BatchLine.settled_at: now,
                }
            )
            .where((BatchLine.batch == batch_id) & (BatchLine.status == rules.PENDING))
            .returning(BatchLine.claim)
            .run()
        )
        # Held claims are released too: an officer decides them, and a later batch
        # takes them only once they are approved again.
        released = (
            await Claim.update({Claim.batch_id: None, Claim.updated_at: now})
            .where(
                (Claim.batch_id == batch_id)
                & Claim.status.is_in([statuses.APPROVED, statuses.ON_HOLD])
            )
            .returning(Claim.id)
            .run()
        )
        await (
            DisbursementBatch.update(
                {
                    DisbursementBatch.status: rules.CANCELLED,
                    DisbursementBatch.failure_reason: reason,
                    DisbursementBatch.updated_at: now,
                }
            )
            .where(DisbursementBatch.id == batch_id)
            .run()
        )
        await record(
            actor.actor,
            "batch.cancelled",
            "disbursement_batch",
            batch_id,
            before={"status": batch["status"]},
            after={
                "status": rules.CANCELLED,
                "reason": reason,
                "lines_cancelled": len(lines),
                "claims_released": sorted(r["id"] for r in released),
            },
        )
    return await load_batch(batch_id)
