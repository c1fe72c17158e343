"""Claim files over HTTP: upload a CSV/XLSX of claims under one scheme as the raw body
(`?scheme=skill_level&filename=claims.csv`) or as multipart field `file`; the answer is
202 with the file and its job; the result and error files follow when the job is done."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from app.settings import Settings
from kernel.file_limits import claim_file_limits
from kernel.filenames import shown
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Output
from kernel.uploads import uploaded_file_chunks
from kernel.web_params import (
    Cursor,
    Limit,
    QueryId,
    QueryText,
    RecordId,
    SchemeQuery,
    UploadName,
)
from registry.outcomes.upload import XLSX_TYPE, receive
from subsidies.claim_files import service

PREFIX = "/api/v1/claim-files"
AnyRequest = Request[Principal, Any, Any]
Scheme = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
CLAIMANTS = allow(StaffRole.OFFICER, organisations=True)


class ClaimFileOut(Output):
    id: int
    scheme: str
    claimant_organisation_id: int
    job_id: int | None
    status: str  # pending / done / failed
    filename: str
    file_format: str
    encoding: str | None
    size_bytes: int
    sha256: str
    total_rows: int | None
    accepted: int | None
    duplicate: int | None
    rejected: int | None
    result_file_csv: str | None
    error_file_csv: str | None
    error_file_xlsx: str | None
    failure: str | None
    uploaded_by: str
    created_at: datetime
    finished_at: datetime | None


class ClaimFilePage(Output):
    items: list[ClaimFileOut]
    next_cursor: str | None


def _out(row: dict[str, Any]) -> ClaimFileOut:
    base = f"{PREFIX}/{row['id']}"
    hidden = ("result_csv_path", "error_csv_path")
    return msgspec.convert(
        {
            **{k: v for k, v in row.items() if k not in hidden},
            "filename": shown(row["filename"]),
            "result_file_csv": f"{base}/result.csv" if row["result_csv_path"] else None,
            "error_file_csv": f"{base}/errors.csv" if row["error_csv_path"] else None,
            "error_file_xlsx": f"{base}/errors.xlsx" if row["error_csv_path"] else None,
        },
        ClaimFileOut,
    )


class ClaimFileController(Controller):
    path = PREFIX
    tags = ["claims"]

    @post(
        "/",
        guards=[CLAIMANTS],
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=None,  # the upload limit is checked while streaming
        description="Uploads claims under one scheme in CSV or XLSX (?scheme=...; the body "
        "with ?filename=name.csv, or multipart field `file`). Columns: see "
        "GET /api/v1/claim-files/template.csv?scheme=... Officers name the claimant with "
        "?claimant_organisation_id=. Answers 202 with the file and its job.",
    )
    async def upload(
        self,
        request: AnyRequest,
        scheme: SchemeQuery,
        claimant_organisation_id: QueryId = None,
        filename: UploadName = None,
    ) -> ClaimFileOut:
        settings: Settings = request.app.state.settings
        kind, claimant_id, claimant_type = await service.claimant(
            request.user, scheme, claimant_organisation_id
        )
        chunks, name = await uploaded_file_chunks(request, service.MAX_BYTES, filename)
        received = await receive(
            chunks,
            name,
            settings.data_dir,
            service.MAX_BYTES,
            folder_name=service.FOLDER,
            columns=service.file_columns(scheme),
            limits=claim_file_limits(),
        )
        row = await service.submit(request.user, kind, claimant_id, claimant_type, received)
        return _out(row)

    @get("/", guards=[anyone_signed_in])
    async def list_files(
        self,
        request: AnyRequest,
        scheme: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ClaimFilePage:
        """Lists uploaded claim files, optionally of one scheme: all for staff, its own for a
        claimant organisation."""
        rows = await service.list_visible(
            request.user, scheme, decode_cursor(cursor), check_limit(limit)
        )
        return ClaimFilePage(
            items=[_out(r) for r in rows], next_cursor=next_cursor([r["id"] for r in rows], limit)
        )

    @get("/{file_id:int}", guards=[anyone_signed_in])
    async def get_file(self, file_id: RecordId, request: AnyRequest) -> ClaimFileOut:
        """Returns one claim file with its job's status and counts: any for staff, its own for the
        claimant organisation."""
        return _out(await service.get_visible(request.user, file_id))

    @get("/{file_id:int}/result.csv", guards=[anyone_signed_in], media_type="text/csv")
    async def result_csv(self, file_id: RecordId, request: AnyRequest) -> File:
        """Downloads a claim file's result as CSV (staff, the claimant): each row accepted with its
        new claim, duplicate or rejected."""
        path = await service.stored_file(request.user, file_id, "result")
        return File(
            path, filename=f"claim-file-{file_id}-result.csv", media_type="text/csv; charset=utf-8"
        )

    @get("/{file_id:int}/errors.csv", guards=[anyone_signed_in], media_type="text/csv")
    async def errors_csv(self, file_id: RecordId, request: AnyRequest) -> File:
        """Downloads a claim file's rejected rows with their errors as CSV (staff, the claimant)."""
        path = await service.stored_file(request.user, file_id, "errors.csv")
        return File(
            path, filename=f"claim-file-{file_id}-errors.csv", media_type="text/csv; charset=utf-8"
        )

    @get("/{file_id:int}/errors.xlsx", guards=[anyone_signed_in], media_type=XLSX_TYPE)
    async def errors_xlsx(self, file_id: RecordId, request: AnyRequest) -> File:
        """Downloads a claim file's rejected rows with their errors as XLSX (staff, the
        claimant)."""
        path = await service.stored_file(request.user, file_id, "errors.xlsx")
        return File(path, filename=f"claim-file-{file_id}-errors.xlsx", media_type=XLSX_TYPE)

    @get("/template.csv", guards=[anyone_signed_in], media_type="text/csv")
    async def template_csv(self, scheme: SchemeQuery) -> Response[bytes]:
        """Downloads a scheme's claim file template in CSV (anyone signed in), with Chinese and
        English headers."""
        return Response(
            service.template_csv(scheme),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="claims-{scheme}.csv"'},
        )

    @get("/template.xlsx", guards=[anyone_signed_in], media_type=XLSX_TYPE)
    async def template_xlsx(self, scheme: SchemeQuery) -> Response[bytes]:
        """Downloads a scheme's claim file template in XLSX (anyone signed in), with Chinese and
        English headers."""
        return Response(
            service.template_xlsx(scheme),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="claims-{scheme}.xlsx"'},
        )
