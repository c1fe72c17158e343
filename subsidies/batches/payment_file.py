"""The bank payment file job: after the totals check, the batch's lines as CSV (UTF-8
with BOM, which Excel and the banks' upload pages read) and XLSX in every layout of
payment_layouts.toml, under DATA_DIR/batches/<number>/. Files are written beside their
final name and renamed, so a retried or repeated job rewrites the same content and a
reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from accounts.principal import Principal
from app.settings import Settings
from audit.log import record
from kernel.db import unit_of_work
from kernel.errors import Conflict, NotFound
from subsidies.batches import payment_layout, rules
from subsidies.batches.approval import PAYMENT_FILE
from subsidies.batches.payment_layout import DEFAULT, Layout, configured_layouts
from subsidies.batches.totals import checked_lines, load_batch
from workers import outbox
from workers.kinds import job_handler
from workers.runner import JobContext, PermanentFailure
from workers.status import JobStatus
from workers.tables import Job

FORMATS = ("csv", "xlsx")
WRITTEN = "batch.payment_file_written"  # its audit entry holds the files' sha256


def folder(data_dir: Path, number: str) -> Path:
    return data_dir / "batches" / number


def path_of(data_dir: Path, number: str, file_format: str, layout: str = DEFAULT) -> Path:
    suffix = "" if layout == DEFAULT else f"-{layout}"
    return folder(data_dir, number) / f"{number}-payment{suffix}.{file_format}"


def write_files(
    data_dir: Path,
    number: str,
    lines: list[dict[str, Any]],
    layouts: dict[str, Layout] | None = None,
) -> dict[str, dict[str, str]]:
    """Writes both files in every layout; returns layout -> format -> sha256 written."""
    layouts = layouts or configured_layouts()
    folder(data_dir, number).mkdir(parents=True, exist_ok=True)
    digests: dict[str, dict[str, str]] = {}
    for name, layout in layouts.items():
        table = payment_layout.rows(layout, lines)
        for file_format in FORMATS:
            final = path_of(data_dir, number, file_format, name)
            partial = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")  # one per writer
            try:
                if file_format == "csv":
                    payment_layout.write_csv(partial, layout, table)
                else:
                    payment_layout.write_xlsx(partial, layout, table)
                os.replace(partial, final)
            finally:
                partial.unlink(missing_ok=True)
            digest = hashlib.sha256(final.read_bytes()).hexdigest()
            digests.setdefault(name, {})[file_format] = digest
    return digests


@job_handler(PAYMENT_FILE)
async def produce_payment_file(ctx: JobContext) -> dict[str, Any]:
    batch_id = int(ctx.payload["batch_id"])
    try:
        batch = await load_batch(batch_id)
        # Outside a unit of work: a mismatch marks the batch failed before it is raised.
        lines = await checked_lines(batch_id)
    except (Conflict, NotFound) as exc:
        raise PermanentFailure(exc.message) from exc
    if batch["status"] not in (rules.APPROVED, rules.CLOSED):
        raise PermanentFailure(f"batch {batch['number']} is {batch['status']}, not approved")
    await ctx.progress(20)
    data_dir = Settings.from_env().data_dir
    digests = await asyncio.to_thread(write_files, data_dir, batch["number"], lines)
    await ctx.progress(90)
    result = {
        "batch_id": batch_id,
        "number": batch["number"],
        "lines": len(lines),
        "total_fen": sum(line["amount_fen"] for line in lines),
        # The default layout's digests where they always were; every layout's by name.
        "sha256": digests[DEFAULT],
        "layouts": digests,
    }
    async with ctx.finishing(result):
        await record(ctx.actor, WRITTEN, "disbursement_batch", batch_id, after=result)
    return result


async def request_rewrite(actor: Principal, batch_id: int) -> int:
    """Queues the payment-file job again for an approved (or closed) batch, e.g. after a
    download was refused because the file on disk had changed; returns the job id. The
    job re-checks the totals and records the new files' digests."""
    async with unit_of_work():
        batch = await load_batch(batch_id, lock=True)
        if batch["status"] not in (rules.APPROVED, rules.CLOSED):
            raise Conflict(
                f"batch {batch['number']} is {batch['status']}: only an approved batch has a "
                "payment file",
                field="status",
            )
        if await being_written(batch_id):
            raise Conflict(
                f"the payment files of batch {batch['number']} are being written already; "
                f"see the job in GET /api/v1/batches/{batch_id}",
                field="payment_file",
            )
        job_id = await outbox.enqueue(PAYMENT_FILE, {"batch_id": batch_id}, created_by=actor.actor)
        await record(
            actor.actor, "batch.payment_file_requested", "disbursement_batch", batch_id,
            after={"job": job_id},
        )  # fmt: skip
    return job_id


async def being_written(batch_id: int) -> bool:
    """A payment-file job of the batch is queued or running: until it has recorded the
    new files' digests, the files on disk may not match the recorded ones."""
    payload = json.dumps({"batch_id": batch_id}, sort_keys=True)
    return bool(
        await Job.exists()
        .where(
            (Job.kind == PAYMENT_FILE)
            & (Job.payload == payload)
            & Job.status.is_in([JobStatus.PENDING, JobStatus.RUNNING])
        )
        .run()
    )
