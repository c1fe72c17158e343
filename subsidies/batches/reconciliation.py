"""Applying the bank's return file to a batch, in one unit of work after the totals
check: paid lines mark their claims paid; failed lines release their claims (batch_id
cleared, still approved) for a later batch. Unknown references, amount mismatches and
contradictions are reported and never applied. Every UPDATE is conditional on the line
still being pending, so importing the same file twice changes nothing the second time.
The batch closes when no line is pending.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel import sandbox
from kernel.clock import utcnow
from kernel.errors import Conflict, InvalidInput
from kernel.file_limits import FileLimits
from subsidies.batches import rules
from subsidies.batches.payment_file import folder
from subsidies.batches.reconciliation_plan import plan
from subsidies.batches.return_file import read
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.batches.totals import checked_lines, guarded, load_batch
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

CHUNK = 2000


@dataclass
class Report:
    batch_id: int
    number: str
    status: str  # the batch's status after the import
    rows: int
    paid: int
    failed: int
    unchanged: int
    pending_left: int
    unknown: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    contradicting: list[dict[str, Any]] = field(default_factory=list)


async def import_return(actor: Principal, batch_id: int, data: bytes, data_dir: Path) -> Report:
    try:
        rows, errors = await sandbox.run_async(read, data, FileLimits.from_env())
    except sandbox.UnreadableFile as exc:
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    if errors:
        raise InvalidInput(errors)
    async with guarded(batch_id):
        batch = await load_batch(batch_id, lock=True)
        # A closed batch takes a file again (a repeat changes nothing) but nothing else.
        if batch["status"] not in (rules.APPROVED, rules.CLOSED):
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}; a return file is imported "
                "into an approved batch",
                field="status",
            )
        lines = await checked_lines(batch_id)
        todo = plan(rows, {line["reference"]: line for line in lines})
        now = utcnow()
        paid = await _settle_paid(actor, batch, [line for _, line in todo.paid], now)
        failed = await _settle_failed(batch_id, todo.failed, now)
        pending_left = sum(1 for line in lines if line["status"] == rules.PENDING) - paid - failed
        status = batch["status"]
        if pending_left == 0:
            status = await _close(actor, batch)
        _store(data, data_dir, batch["number"])
        report = Report(
            batch_id=batch_id,
            number=batch["number"],
            status=status,
            rows=len(rows),
            paid=paid,
            failed=failed,
            unchanged=len(todo.unchanged),
            pending_left=pending_left,
            unknown=todo.unknown,
            mismatched=todo.mismatched,
            contradicting=todo.contradicting,
        )
        await record(
            actor.actor,
            "batch.reconciled",
            "disbursement_batch",
            batch_id,
            after={
                **{k: v for k, v in asdict(report).items() if not isinstance(v, list)},
                "sha256": hashlib.sha256(data).hexdigest(),
                "paid_references": [row.reference for row, _ in todo.paid],
                "failed_references": [row.reference for row, _ in todo.failed],
                "not_applied": todo.unknown + todo.mismatched + todo.contradicting,
            },
        )
    return report


async def _settle_paid(
    actor: Principal, batch: dict[str, Any], lines: list[dict[str, Any]], now: Any
) -> int:
    batch_id = batch["id"]
    settled = 0
    for start in range(0, len(lines), CHUNK):
        ids = [line["id"] for line in lines[start : start + CHUNK]]
        moved = (
            await BatchLine.update({BatchLine.status: rules.PAID, BatchLine.settled_at: now})
            .where(
                (BatchLine.batch == batch_id)
                & BatchLine.id.is_in(ids)
                & (BatchLine.status == rules.PENDING)
            )
            .returning(BatchLine.claim)
            .run()
        )
        settled += len(moved)
        claim_ids = [row["claim"] for row in moved]
        if claim_ids:
            paid = Claim.id.is_in(claim_ids) & (Claim.batch_id == batch_id)
            await (
                Claim.update(
                    {Claim.status: statuses.PAID, Claim.paid_at: now, Claim.updated_at: now}
                )
                .where(paid & (Claim.status == statuses.APPROVED))
                .run()
            )
            await _paid_while_held(actor, batch, paid, now)
    return settled


async def _paid_while_held(actor: Principal, batch: dict[str, Any], paid: Any, now: Any) -> None:
    """A claim put on hold while at the bank was still paid: the money moved, so it is
    paid, and flagged for recovery with its hold's reason (as a revocation flags a claim
    paid before it)."""
    held = await Claim.select(Claim.id, Claim.hold_reason).where(
        paid & (Claim.status == statuses.ON_HOLD)
    )
    for claim in held:
        recovery = (
            f"paid by the bank in batch {batch['number']} while on hold: {claim['hold_reason']}"
        )
        moved = await (
            Claim.update(
                {
                    Claim.status: statuses.PAID,
                    Claim.paid_at: now,
                    Claim.recovery_reason: recovery,
                    Claim.updated_at: now,
                }
            )
            .where((Claim.id == claim["id"]) & (Claim.status == statuses.ON_HOLD))
            .returning(Claim.id)
            .run()
        )
        if moved:
            await record(
                actor.actor,
                "claim.recovery_flagged",
                "claim",
                claim["id"],
                before={"status": statuses.ON_HOLD, "recovery_reason": None},
                after={"status": statuses.PAID, "recovery_reason": recovery},
            )


async def _settle_failed(batch_id: int, failed: list[tuple[Any, dict[str, Any]]], now: Any) -> int:
    settled = 0
    for row, line in failed:
        moved = (
            await BatchLine.update(
                {
                    BatchLine.status: rules.LINE_FAILED,
                    BatchLine.failure_reason: row.reason,
                    BatchLine.settled_at: now,
                }
            )
            .where((BatchLine.id == line["id"]) & (BatchLine.status == rules.PENDING))
            .returning(BatchLine.claim)
            .run()
        )
        if moved:
            settled += 1
            # Back to the pool: still approved, in no batch, for the next build.
            await (
                Claim.update({Claim.batch_id: None, Claim.updated_at: now})
                .where((Claim.id == line["claim"]) & (Claim.batch_id == batch_id))
                .run()
            )
    return settled


async def _close(actor: Principal, batch: dict[str, Any]) -> str:
    moved = (
        await DisbursementBatch.update(
            {DisbursementBatch.status: rules.CLOSED, DisbursementBatch.updated_at: utcnow()}
        )
        .where((DisbursementBatch.id == batch["id"]) & (DisbursementBatch.status == rules.APPROVED))
        .returning(DisbursementBatch.id)
        .run()
    )
    if moved:
        await record(
            actor.actor,
            "batch.closed",
            "disbursement_batch",
            batch["id"],
            before={"status": rules.APPROVED},
            after={"status": rules.CLOSED, "reason": "every line is settled"},
        )
        return rules.CLOSED
    return batch["status"]


def _store(data: bytes, data_dir: Path, number: str) -> None:
    """Keeps each distinct return file (content-addressed) beside the payment file."""
    target = folder(data_dir, number) / "returns"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{hashlib.sha256(data).hexdigest()}.csv"
    if not path.exists():
        path.write_bytes(data)
