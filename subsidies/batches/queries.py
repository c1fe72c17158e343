"""Reading batches: one with its figures and jobs, a page of them, a page of lines, and
the payment file (after the totals check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from accounts.principal import Principal
from audit.log import record
from audit.tables import AuditEntry
from kernel.db import unit_of_work
from kernel.errors import Conflict, InvalidInput
from kernel.integrity import read_unaltered
from registry.organisations import FULL_ACCOUNT_ROLES, mask_account
from subsidies.batches import payment_file, rules
from subsidies.batches.approval import PAYMENT_FILE, RENDER_DOCUMENTS
from subsidies.batches.payment_layout import DEFAULT, layout_named
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.batches.totals import checked_lines, load_batch
from workers.tables import Job


async def get(batch_id: int) -> dict[str, Any]:
    batch = await load_batch(batch_id)
    # Grouped in the database: a batch of 10,000 lines is not read to count them.
    groups = (
        await BatchLine.select(
            BatchLine.scheme,
            BatchLine.status,
            Count(BatchLine.id, alias="count"),
            Sum(BatchLine.amount_fen, alias="total_fen"),
        )
        .where(BatchLine.batch == batch_id)
        .group_by(BatchLine.scheme, BatchLine.status)
        .run()
    )
    schemes: dict[str, dict[str, Any]] = {}
    by_status: dict[str, int] = {s: 0 for s in (rules.PENDING, rules.PAID, rules.LINE_FAILED)}
    for group in groups:
        entry = schemes.setdefault(
            group["scheme"], {"scheme": group["scheme"], "count": 0, "total_fen": 0}
        )
        entry["count"] += group["count"]
        entry["total_fen"] += int(group["total_fen"])
        by_status[group["status"]] = by_status.get(group["status"], 0) + group["count"]
    payload = json.dumps({"batch_id": batch_id}, sort_keys=True)
    jobs = (
        await Job.select(Job.id, Job.kind, Job.status, Job.progress, Job.error)
        .where(Job.kind.is_in([PAYMENT_FILE, RENDER_DOCUMENTS]) & (Job.payload == payload))
        .order_by(Job.id)
        .run()
    )
    return {
        **batch,
        "declared_total_yuan": rules.yuan(batch["declared_total_fen"]),
        "schemes": sorted(schemes.values(), key=lambda s: s["scheme"]),
        "lines_by_status": by_status,
        "jobs": jobs,
    }


async def list_batches(
    status: str | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    if status is not None and status not in rules.BATCH_STATUSES:
        raise InvalidInput.single("status", f"must be one of {', '.join(rules.BATCH_STATUSES)}")
    query = DisbursementBatch.select()
    if status:
        query = query.where(DisbursementBatch.status == status)
    if after_id is not None:
        query = query.where(DisbursementBatch.id < after_id)
    return await query.order_by(DisbursementBatch.id, ascending=False).limit(limit).run()


async def lines(who: Principal, batch_id: int, after_line: int, limit: int) -> list[dict[str, Any]]:
    await load_batch(batch_id)
    rows = await (
        BatchLine.select(
            BatchLine.id,
            BatchLine.line_no,
            BatchLine.claim,
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
        )
        .where((BatchLine.batch == batch_id) & (BatchLine.line_no > after_line))
        .order_by(BatchLine.line_no)
        .limit(limit)
        .run()
    )
    whole = who.has_any(*FULL_ACCOUNT_ROLES)
    for row in rows:
        row["amount_yuan"] = rules.yuan(row["amount_fen"])
        if not whole:
            row["payee_account"] = mask_account(row["payee_account"])
    return rows


async def payment_file_download(
    who: Principal, batch_id: int, data_dir: Path, file_format: str, layout: str | None = None
) -> tuple[bytes, str]:
    """The stored file's bytes in a layout (payment_layouts.toml; an unknown one is
    InvalidInput) and a download name, once its job has written it and
    recorded its digest; the totals are checked first (a mismatch fails the batch and
    answers 409), and the bytes served must have that digest (an edited account or
    amount, a lost file: 409, audited).
    Checked and recorded under the batch's lock, so a release of a failed batch (which
    looks for downloads) and a download never pass each other."""
    name = layout_named(layout).name
    await checked_lines(batch_id)
    refused: Conflict | None = None
    async with unit_of_work():
        batch = await load_batch(batch_id, lock=True)
        if batch["status"] not in (rules.APPROVED, rules.CLOSED):
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}; the payment file exists once "
                "it is approved",
                field="status",
            )
        written = await _written_digests(batch_id)
        if written is None or await payment_file.being_written(batch_id):
            raise Conflict(
                f"the payment file of batch {batch['number']} is not written yet; see the job "
                f"in GET /api/v1/batches/{batch_id}",
                field="payment_file",
            )
        digest = written.get(name, {}).get(file_format)
        if digest is None:  # a layout added after the files were written
            raise Conflict(
                f"the payment file of batch {batch['number']} was not written in layout "
                f"{name!r}; POST /api/v1/batches/{batch_id}/payment-file writes every layout",
                field="layout",
            )
        path = payment_file.path_of(data_dir, batch["number"], file_format, name)
        in_layout = "" if name == DEFAULT else f" in layout {name}"
        what = f"the {file_format} payment file{in_layout} of batch {batch['number']}"
        try:
            content = await read_unaltered(path, digest, what)
        except Conflict as exc:
            refused = exc
        else:
            await record(
                who.actor, "batch.payment_file_downloaded", "disbursement_batch", batch_id,
                after={"format": file_format, "layout": name},
            )  # fmt: skip
    if refused is not None:  # audited in its own transaction: the refusal must stay on record
        await record(
            who.actor, "batch.payment_file_altered", "disbursement_batch", batch_id,
            after={"format": file_format, "layout": name, **refused.details},
        )  # fmt: skip
        raise refused
    return content, path.name


async def _written_digests(batch_id: int) -> dict[str, dict[str, str]] | None:
    """Layout -> format -> sha256 the payment-file job recorded when it last wrote the
    files (before layouts, the default layout's only)."""
    row = await (
        AuditEntry.select(AuditEntry.after)
        .where(
            (AuditEntry.action == payment_file.WRITTEN)
            & (AuditEntry.object_type == "disbursement_batch")
            & (AuditEntry.object_id == str(batch_id))
        )
        .order_by(AuditEntry.id, ascending=False)
        .first()
        .run()
    )
    if row is None:
        return None
    after = json.loads(row["after"] or "{}")
    return after.get("layouts") or {DEFAULT: after.get("sha256") or {}}
