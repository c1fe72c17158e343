"""Outcome reports as a service: accept a checked file, queue its import, show the
result and the error files to the institution that sent it (and to staff)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from audit.log import record
from kernel.db import unit_of_work
from kernel.errors import Forbidden, InvalidInput, NotFound, NotVisible
from registry.outcomes.importer import IMPORT_OUTCOMES
from registry.outcomes.upload import ReceivedFile
from registry.tables import Organisation, OutcomeReport
from workers.outbox import enqueue

COLUMNS = (
    OutcomeReport.id,
    OutcomeReport.institution,
    OutcomeReport.job_id,
    OutcomeReport.filename,
    OutcomeReport.file_format,
    OutcomeReport.encoding,
    OutcomeReport.size_bytes,
    OutcomeReport.sha256,
    OutcomeReport.status,
    OutcomeReport.total_rows,
    OutcomeReport.accepted,
    OutcomeReport.updated,
    OutcomeReport.unchanged,
    OutcomeReport.rejected,
    OutcomeReport.late,
    OutcomeReport.error_csv_path,
    OutcomeReport.uploaded_by,
    OutcomeReport.created_at,
    OutcomeReport.finished_at,
)


async def institution_for(actor: Principal, institution_id: int | None) -> int:
    """A training institution reports for itself; an officer or admin may upload on an
    institution's behalf (a paper report typed up at the service centre)."""
    if not actor.is_staff:
        if actor.org_type != OrgType.TRAINING_INSTITUTION:
            raise Forbidden("only training institutions report training outcomes")
        if institution_id not in (None, actor.organisation_id):
            raise InvalidInput.single("institution_id", "an institution reports only for itself")
        assert actor.organisation_id is not None
        return actor.organisation_id
    if not actor.has_any(StaffRole.OFFICER, StaffRole.ADMIN):
        raise Forbidden("this needs one of: officer, admin, training_institution")
    if institution_id is None:
        raise InvalidInput.single("institution_id", "required when staff upload a report")
    org = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == institution_id)
        .first()
        .run()
    )
    if org is None or org["org_type"] != OrgType.TRAINING_INSTITUTION:
        raise InvalidInput.single("institution_id", "not a registered training institution")
    return institution_id


async def submit(actor: Principal, institution_id: int, received: ReceivedFile) -> dict[str, Any]:
    async with unit_of_work():
        rows = (
            await OutcomeReport.insert(
                OutcomeReport(
                    institution=institution_id,
                    filename=received.filename[:200],
                    file_format=received.file_format,
                    encoding=received.encoding,
                    size_bytes=received.size_bytes,
                    sha256=received.sha256,
                    stored_path=str(received.path),
                    uploaded_by=actor.actor,
                )
            )
            .returning(OutcomeReport.id)
            .run()
        )
        report_id = rows[0]["id"]
        job_id = await enqueue(
            IMPORT_OUTCOMES,
            {"report_id": report_id},
            created_by=actor.actor,
            organisation_id=institution_id,
        )
        await (
            OutcomeReport.update({OutcomeReport.job_id: job_id})
            .where(OutcomeReport.id == report_id)
            .run()
        )
        await record(
            actor.actor,
            "outcome_report.submitted",
            "outcome_report",
            report_id,
            after={
                "institution": institution_id,
                "filename": received.filename,
                "sha256": received.sha256,
                "size_bytes": received.size_bytes,
                "job_id": job_id,
            },
        )
    return await get_visible(actor, report_id)


async def get_visible(actor: Principal, report_id: int) -> dict[str, Any]:
    report = await OutcomeReport.select(*COLUMNS).where(OutcomeReport.id == report_id).first().run()
    if report is None:
        raise NotFound("outcome report not found", report_id=report_id)
    if not actor.is_staff and report["institution"] != actor.organisation_id:
        raise NotVisible("outcome report not found", report_id=report_id)
    return report


async def list_visible(
    actor: Principal, institution_id: int | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    query = OutcomeReport.select(*COLUMNS)
    if not actor.is_staff:
        query = query.where(OutcomeReport.institution == actor.organisation_id)
    elif institution_id is not None:
        query = query.where(OutcomeReport.institution == institution_id)
    if after_id is not None:
        query = query.where(OutcomeReport.id < after_id)
    return await query.order_by(OutcomeReport.id, ascending=False).limit(limit).run()


async def error_file(actor: Principal, report_id: int, file_format: str) -> Path:
    await get_visible(actor, report_id)
    row = (
        await OutcomeReport.select(
            OutcomeReport.status, OutcomeReport.error_csv_path, OutcomeReport.error_xlsx_path
        )
        .where(OutcomeReport.id == report_id)
        .first()
        .run()
    )
    path = row["error_csv_path"] if file_format == "csv" else row["error_xlsx_path"]
    if row["status"] != "done":
        raise NotFound("the report has not been processed yet", report_id=report_id)
    if path is None or not Path(path).exists():  # noqa: ASYNC240 (one stat call)
        raise NotFound("this report has no rejected rows", report_id=report_id)
    return Path(path)
