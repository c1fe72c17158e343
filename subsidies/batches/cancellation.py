"""Ways out for a batch that will not be paid as built, both returning its unsettled
claims to the pool for a later batch:

- cancelling a submitted batch: before approval no payment file exists, so no money can
  have left;
- releasing a failed batch (its totals stopped adding up): a person's decision after an
  investigation, never automatic, by a finance user who neither built nor approved it,
  and only while its payment file was never downloaded (the audit log says so). Once
  the file has left the service the money may be at the bank, and the claims stay held.
  A claim whose amount and its line's amount differ goes on hold for an officer instead
  of back to the pool: one of them was edited (likely why the batch failed), and only
  a person can tell which.

An approved batch in good order is settled only by the bank's return file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.four_eyes import ensure_not_preparer
from accounts.principal import Principal
from audit.log import record
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput
from subsidies.batches import rules
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.batches.totals import load_batch
from subsidies.claims import statuses
from subsidies.claims.holds import hold_or_flag
from subsidies.claims.tables import Claim

REASON_MAX = 1000
DOWNLOADED = "batch.payment_file_downloaded"


def check_reason(reason: str, what: str = "the batch is cancelled") -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput([FieldError("reason", f"say why {what}")])
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
        await _return_to_pool(actor, batch, rules.CANCELLED, "batch.cancelled", reason)
    return await load_batch(batch_id)


async def release_failed(actor: Principal, batch_id: int, reason: str) -> dict[str, Any]:
    reason = check_reason(reason, "the failed batch's claims are released")
    async with unit_of_work():
        batch = await load_batch(batch_id, lock=True)
        if batch["status"] != rules.FAILED:
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}; only a failed batch is "
                "released (a submitted one is cancelled)",
                field="status",
            )
        for involved in (batch["built_by"], batch["approved_by"]):
            if involved:  # its builder and approver may not judge their own batch
                ensure_not_preparer(
                    involved, actor.actor, what=f"the release of batch {batch['number']}"
                )
        downloaded = await (
            AuditEntry.select(AuditEntry.actor, AuditEntry.at)
            .where(
                (AuditEntry.action == DOWNLOADED)
                & (AuditEntry.object_type == "disbursement_batch")
                & (AuditEntry.object_id == str(batch_id))
            )
            .order_by(AuditEntry.id)
            .first()
            .run()
        )
        if downloaded:
            raise Conflict(
                f"the payment file of batch {batch['number']} was downloaded by "
                f"{downloaded['actor']} at {downloaded['at']}: the money may be at the bank, "
                "so its claims stay held until the bank's statement is checked "
                "付款文件已下载，款项可能已发出，不得释放",
                field="status",
            )
        changed = await _amounts_changed(batch_id)
        if changed:
            await hold_or_flag(
                actor.actor,
                Claim.id.is_in([c["claim"] for c in changed]),
                hold=f"released from failed batch {batch['number']} with an amount that differs "
                "from the one it was batched at: an officer checks it before it is paid "
                "金额与组批时不一致，待核查",
                recover=f"released from failed batch {batch['number']} with a changed amount",
            )
        await _return_to_pool(
            actor, batch, rules.RELEASED, "batch.released", reason, amount_changed=changed
        )
    return await load_batch(batch_id)


async def _amounts_changed(batch_id: int) -> list[dict[str, Any]]:
    """Unsettled lines whose claim's amount is no longer the line's: a failed batch's
    totals may have stopped adding up because a claim was edited, and releasing it as it
    is would pay the edit."""
    rows = await (
        BatchLine.select(
            BatchLine.claim,
            BatchLine.amount_fen.as_alias("line_fen"),
            BatchLine.claim.amount_fen.as_alias("claim_fen"),
        )
        .where((BatchLine.batch == batch_id) & (BatchLine.status == rules.PENDING))
        .order_by(BatchLine.line_no)
        .run()
    )
    return [r for r in rows if r["line_fen"] != r["claim_fen"]]


async def _return_to_pool(
    actor: Principal,
    batch: dict[str, Any],
    status: str,
    action: str,
    reason: str,
    amount_changed: list[dict[str, Any]] | None = None,
) -> None:
    """Inside the caller's unit of work: unsettled lines cancelled, their claims free
    for a later batch, the batch in `status`, all audited."""
    batch_id = batch["id"]
    now: datetime = utcnow()
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
    # Held claims are released too: an officer decides them, and a later batch takes
    # them only once they are approved again. Paid claims stay with the batch.
    released = (
        await Claim.update({Claim.batch_id: None, Claim.updated_at: now})
        .where(
            (Claim.batch_id == batch_id) & Claim.status.is_in([statuses.APPROVED, statuses.ON_HOLD])
        )
        .returning(Claim.id)
        .run()
    )
    await (
        DisbursementBatch.update(
            {
                DisbursementBatch.status: status,
                DisbursementBatch.failure_reason: reason
                if status == rules.CANCELLED
                else f"{batch['failure_reason']}; released: {reason}",
                DisbursementBatch.updated_at: now,
            }
        )
        .where(DisbursementBatch.id == batch_id)
        .run()
    )
    await record(
        actor.actor,
        action,
        "disbursement_batch",
        batch_id,
        before={"status": batch["status"]},
        after={
            "status": status,
            "reason": reason,
            "lines_cancelled": len(lines),
            "claims_released": sorted(r["id"] for r in released),
            "claims_held_amount_changed": amount_changed or [],
        },
    )
