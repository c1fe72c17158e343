"""The totals check every step after submission runs before it touches a batch.

`checked_lines(batch_id)` is the public entry point (the rendering side calls it before
rendering): it loads the lines in line order and refuses, loudly, when they no longer add
up to the batch's declared count and total, no longer match the digest of their payment
details (payee, account, bank, amount, reference) taken at submission, or no longer pay
their claims' approved amounts. A refusal marks the batch failed with the reason, so
nothing else acts on it.

Marking failed must survive the refusal: called outside a unit of work it commits at
once; inside one (which the raised error rolls back), use `guarded()` instead, which
marks the batch failed after the rollback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from audit.log import record
from kernel.clock import utcnow
from kernel.db import in_unit_of_work, unit_of_work
from kernel.errors import Conflict, NotFound
from kernel.masking import mask_id_number
from registry.organisations import for_update
from subsidies.batches import rules
from subsidies.batches.rules import (
    DIGEST_FIELDS,
    TotalsMismatch,
    check_against_claims,
    check_digest,
    check_totals,
)
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.claims import calculations

SYSTEM_ACTOR = "system:batches"

_LINE_COLUMNS = (
    BatchLine.id,
    BatchLine.batch,
    BatchLine.claim,
    BatchLine.line_no,
    BatchLine.scheme,
    BatchLine.payee_kind,
    BatchLine.payee_name,
    BatchLine.payee_account,
    BatchLine.payee_bank,
    BatchLine.payee_bank_code,
    BatchLine.person,
    BatchLine.organisation,
    BatchLine.amount_fen,
    BatchLine.reference,
    BatchLine.status,
    BatchLine.failure_reason,
    BatchLine.settled_at,
    BatchLine.claim.amount_fen.as_alias("claim_amount_fen"),
    BatchLine.claim.status.as_alias("claim_status"),
    BatchLine.claim.basis_date.as_alias("basis_date"),
    BatchLine.claim.policy_version.as_alias("policy_version_id"),
    BatchLine.person.id_number.as_alias("person_id_number"),
    BatchLine.organisation.credit_code.as_alias("organisation_credit_code"),
)

_AMOUNT_COLUMNS = (
    BatchLine.line_no,
    BatchLine.claim,
    BatchLine.payee_kind,
    BatchLine.payee_name,
    BatchLine.payee_account,
    BatchLine.payee_bank,
    BatchLine.payee_bank_code,
    BatchLine.amount_fen,
    BatchLine.reference,
    BatchLine.claim.amount_fen.as_alias("claim_amount_fen"),
)


async def load_batch(batch_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The batch row; `lock`: held until commit (PostgreSQL; SQLite's unit of work already
    holds the only write lock), so two steps on one batch run one after the other."""
    query = DisbursementBatch.select().where(DisbursementBatch.id == batch_id)
    row = await (for_update(query) if lock else query).first().run()
    if row is None:
        raise NotFound(f"batch {batch_id} does not exist", field="batch_id")
    return row


async def checked_lines(
    batch_id: int, line_range: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """The batch's lines ordered by line_no, after checking them against the batch's
    declared count, total and digest of payment details, and their claims' amounts.

    `line_range` (first, last line_no, inclusive) returns only those lines, still after
    checking the whole batch: a job that renders 200 lines of 10,000 reads the amounts
    of every line (line and claim), not every column (the trace is the bulk of a line).

    Each dict has the batch_line columns plus claim_amount_fen, claim_status, basis_date,
    claim_trace (JSON text), policy_version_id, masked_id_number (people) and
    organisation_credit_code (organisations). Raises TotalsMismatch (409, a Conflict;
    details carry the declared and actual figures) and marks the batch failed, or
    Conflict when the batch has already failed, NotFound when it does not exist."""
    batch = await load_batch(batch_id)
    if batch["status"] == rules.FAILED:
        raise Conflict(
            f"batch {batch['number']} has failed and may not be used: {batch['failure_reason']}",
            field="batch_id",
            batch_id=batch_id,
        )
    query = BatchLine.select(*_LINE_COLUMNS).where(BatchLine.batch == batch_id)
    if line_range is None:
        lines = await query.order_by(BatchLine.line_no).run()
        amounts = lines
    else:
        amounts = (
            await BatchLine.select(*_AMOUNT_COLUMNS)
            .where(BatchLine.batch == batch_id)
            .order_by(BatchLine.line_no)
            .run()
        )
        first, last = line_range
        lines = await (
            query.where((BatchLine.line_no >= first) & (BatchLine.line_no <= last))
            .order_by(BatchLine.line_no)
            .run()
        )
    try:
        check_totals(
            batch["declared_count"], batch["declared_total_fen"], [x["amount_fen"] for x in amounts]
        )
        check_against_claims(amounts)
        check_digest(batch["declared_digest"], amounts)
        if line_range is not None:
            # Two reads, two snapshots: the range must be what the whole-batch check saw.
            check_against_claims(lines)
            checked = {x["line_no"]: _payment(x) for x in amounts}
            moved = [x["line_no"] for x in lines if checked.get(x["line_no"]) != _payment(x)]
            if moved:
                raise TotalsMismatch(
                    f"lines {moved[:20]} changed while the batch was being checked",
                    field="lines",
                )
    except TotalsMismatch as exc:
        exc.details["batch_id"] = batch_id
        exc.message = f"batch {batch['number']}: {exc.message}"
        exc.args = (exc.message,)
        if not in_unit_of_work():
            await mark_failed(batch_id, exc.message)
        raise
    traces = await calculations.traces_of([x["claim"] for x in lines])
    for line in lines:
        id_number = line.pop("person_id_number")
        line["masked_id_number"] = mask_id_number(id_number) if id_number else None
        line["claim_trace"] = traces.get(line["claim"])
    return lines


def _payment(line: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(line[name] for name in DIGEST_FIELDS)


@asynccontextmanager
async def guarded(batch_id: int) -> AsyncIterator[None]:
    """A unit of work for a step on a batch: when the totals check inside it refuses,
    the step rolls back and THEN the batch is marked failed (in its own transaction)."""
    try:
        async with unit_of_work():
            yield
    except TotalsMismatch as exc:
        await mark_failed(batch_id, exc.message)
        raise


async def mark_failed(batch_id: int, reason: str, actor: str = SYSTEM_ACTOR) -> None:
    """Fails an open batch (closed and failed ones are left as they are). Its claims stay
    held by it: money may already be at the bank, so releasing them is a person's call
    after an investigation, never automatic."""
    async with unit_of_work():
        now = utcnow()
        changed = (
            await DisbursementBatch.update(
                {
                    DisbursementBatch.status: rules.FAILED,
                    DisbursementBatch.failure_reason: reason,
                    DisbursementBatch.updated_at: now,
                }
            )
            .where(
                (DisbursementBatch.id == batch_id)
                & DisbursementBatch.status.is_in(list(rules.OPEN))
            )
            .returning(DisbursementBatch.status)
            .run()
        )
        if changed:
            await record(
                actor,
                "batch.failed",
                "disbursement_batch",
                batch_id,
                after={"status": rules.FAILED, "reason": reason},
            )
