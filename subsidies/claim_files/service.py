"""Claim files as a service: who may upload under which scheme, accepting a checked
file with its job in one unit of work, and showing the outcome and its files to the
claimant organisation (and to staff)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import xlsxwriter

from accounts.principal import Principal
from audit.log import record
from kernel.db import unit_of_work
from kernel.errors import NotFound, NotVisible
from registry.outcomes.columns import Column
from registry.outcomes.upload import ReceivedFile
from subsidies.claim_files import rows
from subsidies.claim_files.processing import PROCESS_CLAIM_FILE, principal_payload
from subsidies.claim_files.tables import ClaimFile
from subsidies.claims import claim_kinds
from subsidies.claims.service import claimant_for
from workers.outbox import enqueue

FOLDER = "claim-files"
MAX_BYTES = 8 << 20  # tens of thousands of rows: each row is judged by its scheme's rules

COLUMNS = (
    ClaimFile.id,
    ClaimFile.scheme,
    ClaimFile.claimant.as_alias("claimant_organisation_id"),
    ClaimFile.job_id,
    ClaimFile.status,
    ClaimFile.filename,
    ClaimFile.file_format,
    ClaimFile.encoding,
    ClaimFile.size_bytes,
    ClaimFile.sha256,
    ClaimFile.total_rows,
    ClaimFile.accepted,
    ClaimFile.duplicate,
    ClaimFile.rejected,
    ClaimFile.result_csv_path,
    ClaimFile.error_csv_path,
    ClaimFile.failure,
    ClaimFile.uploaded_by,
    ClaimFile.created_at,
    ClaimFile.finished_at,
)


async def claimant(
    actor: Principal, scheme: str, claimant_organisation_id: int | None
) -> tuple[claim_kinds.ClaimKind, int, str]:
    """The scheme's claim kind (400 for a scheme that takes no claims) and who claims
    (as for one claim: the organisation itself, or the one an officer names)."""
    kind = claim_kinds.require(scheme)
    claimant_id, claimant_type = await claimant_for(actor, claimant_organisation_id, kind)
    return kind, claimant_id, claimant_type


def file_columns(scheme: str) -> tuple[Column, ...]:
    return rows.columns_for(claim_kinds.require(scheme))


async def submit(
    actor: Principal,
    kind: claim_kinds.ClaimKind,
    claimant_id: int,
    claimant_type: str,
    received: ReceivedFile,
) -> dict[str, Any]:
    """Records the file and queues its job, in one unit of work."""
    async with unit_of_work():
        inserted = (
            await ClaimFile.insert(
                ClaimFile(
                    scheme=kind.scheme,
                    claimant=claimant_id,
                    filename=received.filename[:200],
                    file_format=received.file_format,
                    encoding=received.encoding,
                    size_bytes=received.size_bytes,
                    sha256=received.sha256,
                    stored_path=str(received.path),
                    uploaded_by=actor.actor,
                )
            )
            .returning(ClaimFile.id)
            .run()
        )
        file_id = inserted[0]["id"]
        job_id = await enqueue(
            PROCESS_CLAIM_FILE,
            {
                "file_id": file_id,
                "claimant_type": claimant_type,
                "actor": principal_payload(actor),
            },
            created_by=actor.actor,
            organisation_id=actor.organisation_id,
        )
        await ClaimFile.update({ClaimFile.job_id: job_id}).where(ClaimFile.id == file_id).run()
        await record(
            actor.actor,
            "claim_file.uploaded",
            "claim_file",
            file_id,
            after={
                "scheme": kind.scheme,
                "claimant_organisation_id": claimant_id,
                "filename": received.filename,
                "sha256": received.sha256,
                "size_bytes": received.size_bytes,
                "job_id": job_id,
            },
        )
    return await get_visible(actor, file_id)


async def get_visible(actor: Principal, file_id: int) -> dict[str, Any]:
    row = await ClaimFile.select(*COLUMNS).where(ClaimFile.id == file_id).first().run()
    if row is None:
        raise NotFound("claim file not found", file_id=file_id)
    if not actor.is_staff and row["claimant_organisation_id"] != actor.organisation_id:
        raise NotVisible("claim file not found", file_id=file_id)
    return row


async def list_visible(
    actor: Principal, scheme: str | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    where = ClaimFile.id > (after_id or 0)
    if not actor.is_staff:
        where &= ClaimFile.claimant == actor.organisation_id
    if scheme:
        where &= ClaimFile.scheme == scheme
    return await ClaimFile.select(*COLUMNS).where(where).order_by(ClaimFile.id).limit(limit).run()


async def stored_file(actor: Principal, file_id: int, which: str) -> Path:
    """The result file (`result`) or an error file (`errors.csv`, `errors.xlsx`)."""
    await get_visible(actor, file_id)
    row = (
        await ClaimFile.select(
            ClaimFile.result_csv_path, ClaimFile.error_csv_path, ClaimFile.error_xlsx_path
        )
        .where(ClaimFile.id == file_id)
        .first()
        .run()
    )
    path = {
        "result": row["result_csv_path"],
        "errors.csv": row["error_csv_path"],
        "errors.xlsx": row["error_xlsx_path"],
    }[which]
    if path is None or not Path(path).exists():  # noqa: ASYNC240 (one stat call)
        reason = "not processed yet" if which == "result" else "no rejected rows"
        raise NotFound(f"this file has {reason}", file_id=file_id)
    return Path(path)


def _headers(columns: tuple[Column, ...]) -> list[str]:
    return [f"{c.zh}/{c.en}" for c in columns]


def template_csv(scheme: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(_headers(file_columns(scheme)))
    return out.getvalue().encode("utf-8-sig")


def template_xlsx(scheme: str) -> bytes:
    columns = file_columns(scheme)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text = workbook.add_format({"num_format": "@"})  # IDs as text: Excel would round them
    bold = workbook.add_format({"bold": True, "num_format": "@"})
    sheet = workbook.add_worksheet("claims 申请")
    sheet.write_row(0, 0, _headers(columns), bold)
    sheet.set_column(0, len(columns) - 1, 22, text)
    notes = workbook.add_worksheet("notes 说明")
    notes.write_row(0, 0, ["列 Column", "必填 Required", "说明 Notes"], bold)
    for number, column in enumerate(columns, start=1):
        notes.write_row(
            number,
            0,
            [f"{column.zh}/{column.en}", "是 yes" if column.required else "否 no", column.hint],
        )
    notes.set_column(0, 2, 40)
    workbook.close()
    return buffer.getvalue()
