"""Outcome reports over HTTP. Upload the file as the raw request body (recommended for
large files: it is streamed to disk) or as multipart/form-data field `file`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED

from accounts.guards import anyone_signed_in
from accounts.principal import Principal
from app.settings import Settings
from kernel.filenames import shown
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Output
from kernel.uploads import uploaded_file_chunks
from kernel.web_params import Cursor, Limit, QueryId, RecordId, UploadName
from registry.outcomes import reports, template
from registry.outcomes.upload import XLSX_TYPE, receive

PREFIX = "/api/v1/outcome-reports"


class OutcomeReportOut(Output):
    id: int
    institution: int
    job_id: int | None
    filename: str
    file_format: str
    encoding: str | None
    size_bytes: int
    sha256: str
    status: str
    total_rows: int | None
    accepted: int | None
    updated: int | None
    unchanged: int | None
    rejected: int | None
    late: int | None
    error_file_csv: str | None
    error_file_xlsx: str | None
    uploaded_by: str
    created_at: datetime
    finished_at: datetime | None


class OutcomeReportPage(Output):
    items: list[OutcomeReportOut]
    next_cursor: str | None


def _out(report: dict[str, Any]) -> OutcomeReportOut:
    has_errors = report["error_csv_path"] is not None
    base = f"{PREFIX}/{report['id']}/errors"
    return msgspec.convert(
        {
            **{k: v for k, v in report.items() if k != "error_csv_path"},
            "filename": shown(report["filename"]),
            "error_file_csv": f"{base}.csv" if has_errors else None,
            "error_file_xlsx": f"{base}.xlsx" if has_errors else None,
        },
        OutcomeReportOut,
    )


class OutcomeReportController(Controller):
    path = PREFIX
    tags = ["outcome reports"]
    guards = [anyone_signed_in]

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=None,  # the upload limit is checked while streaming
        description="Uploads a training institution's outcome report in CSV or XLSX (the "
        "request body with ?filename=name.csv, or multipart field `file`); staff name the "
        "institution with ?institution_id=. Answers 202 with the report; its job does the "
        "import.",
    )
    async def upload(
        self,
        request: Request[Principal, Any, Any],
        institution_id: QueryId = None,
        filename: UploadName = None,
    ) -> OutcomeReportOut:
        settings: Settings = request.app.state.settings
        institution = await reports.institution_for(request.user, institution_id)
        chunks, name = await uploaded_file_chunks(
            request, settings.outcome_upload_max_bytes, filename
        )
        received = await receive(chunks, name, settings.data_dir, settings.outcome_upload_max_bytes)
        return _out(await reports.submit(request.user, institution, received))

    @get("/")
    async def list_reports(
        self,
        request: Request[Principal, Any, Any],
        institution_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> OutcomeReportPage:
        """Lists outcome reports, newest first (staff all, `?institution_id=` one institution; a
        training institution its own)."""
        rows = await reports.list_visible(
            request.user, institution_id, decode_cursor(cursor), check_limit(limit)
        )
        return OutcomeReportPage(
            items=[_out(r) for r in rows], next_cursor=next_cursor([r["id"] for r in rows], limit)
        )

    @get("/{report_id:int}")
    async def get_report(
        self, report_id: RecordId, request: Request[Principal, Any, Any]
    ) -> OutcomeReportOut:
        """Returns one outcome report with its import status, counts and error file links: any for
        staff, its own for a training institution."""
        return _out(await reports.get_visible(request.user, report_id))

    @get("/{report_id:int}/errors.csv", media_type="text/csv")
    async def errors_csv(self, report_id: RecordId, request: Request[Principal, Any, Any]) -> File:
        """Downloads an outcome report's rejected rows with their errors as CSV (staff, the
        reporting institution)."""
        path = await reports.error_file(request.user, report_id, "csv")
        return File(
            path,
            filename=f"outcome-report-{report_id}-errors.csv",
            media_type="text/csv; charset=utf-8",
        )

    @get("/{report_id:int}/errors.xlsx", media_type=XLSX_TYPE)
    async def errors_xlsx(self, report_id: RecordId, request: Request[Principal, Any, Any]) -> File:
        """Downloads an outcome report's rejected rows with their errors as XLSX (staff, the
        reporting institution)."""
        path = await reports.error_file(request.user, report_id, "xlsx")
        return File(path, filename=f"outcome-report-{report_id}-errors.xlsx", media_type=XLSX_TYPE)

    @get("/template.csv", media_type="text/csv")
    async def template_csv(self) -> Response[bytes]:
        """Downloads the outcome report template in CSV (anyone signed in), with Chinese and English
        headers."""
        return Response(
            template.template_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="outcome-report-template.csv"'},
        )

    @get("/template.xlsx", media_type=XLSX_TYPE)
    async def template_xlsx(self) -> Response[bytes]:
        """Downloads the outcome report template in XLSX (anyone signed in), with Chinese and
        English headers."""
        return Response(
            template.template_xlsx(),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": 'attachment; filename="outcome-report-template.xlsx"'},
        )
