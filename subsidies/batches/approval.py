"""Approving a submitted batch: another finance user than its builder (four-eyes), after
the totals check, in one unit of work with the jobs it starts (outbox): the bank
payment file (ours) and the documents (the rendering side's kind)."""

from __future__ import annotations

import logging
from typing import Any

from accounts.four_eyes import ensure_not_preparer
from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.errors import Conflict
from subsidies.batches import rules
from subsidies.batches.tables import DisbursementBatch
from subsidies.batches.totals import checked_lines, guarded, load_batch
from workers import kinds, outbox

log = logging.getLogger(__name__)

PAYMENT_FILE = "batches.payment_file"
RENDER_DOCUMENTS = "documents.render_batch"


async def approve(actor: Principal, batch_id: int) -> dict[str, Any]:
    async with guarded(batch_id):
        batch = await load_batch(batch_id, lock=True)
        if batch["status"] != rules.SUBMITTED:
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}; only a submitted batch is approved",
                field="status",
            )
        ensure_not_preparer(batch["built_by"], actor.actor, what=f"batch {batch['number']}")
        rules.ensure_claims_payable(await checked_lines(batch_id))
        now = utcnow()
        moved = (
            await DisbursementBatch.update(
                {
                    DisbursementBatch.status: rules.APPROVED,
                    DisbursementBatch.approved_by: actor.actor,
                    DisbursementBatch.approved_at: now,
                    DisbursementBatch.updated_at: now,
                }
            )
            .where(
                (DisbursementBatch.id == batch_id) & (DisbursementBatch.status == rules.SUBMITTED)
            )
            .returning(DisbursementBatch.id)
            .run()
        )
        if not moved:  # a concurrent approval won (SQLite never gets here)
            raise Conflict(f"batch {batch['number']} was approved meanwhile", field="status")
        jobs = {PAYMENT_FILE: await _enqueue(PAYMENT_FILE, batch_id, actor)}
        if kinds.known(RENDER_DOCUMENTS):
            jobs[RENDER_DOCUMENTS] = await _enqueue(RENDER_DOCUMENTS, batch_id, actor)
        else:  # the rendering module is not installed in this build
            log.warning("job kind %s is not registered; batch %s has no documents",
                        RENDER_DOCUMENTS, batch_id)  # fmt: skip
        await record(
            actor.actor,
            "batch.approved",
            "disbursement_batch",
            batch_id,
            before={"status": rules.SUBMITTED},
            after={
                "status": rules.APPROVED,
                "declared_count": batch["declared_count"],
                "declared_total_fen": batch["declared_total_fen"],
                "jobs": jobs,
            },
        )
    return await load_batch(batch_id)


async def _enqueue(kind: str, batch_id: int, actor: Principal) -> int:
    return await outbox.enqueue(kind, {"batch_id": batch_id}, created_by=actor.actor)
