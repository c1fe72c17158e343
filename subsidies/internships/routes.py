"""Internship placements and monthly attendance reports over HTTP."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from app.settings import Settings
from kernel.file_limits import claim_file_limits
from kernel.filenames import shown
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.uploads import uploaded_file_chunks
from kernel.web_params import Cursor, Limit, QueryId, QueryText, RecordId, UploadName
from registry.outcomes.upload import XLSX_TYPE, receive
from subsidies.internships import month_files, rules, service
from subsidies.internships.month_rows import COLUMNS

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
Text = Annotated[str, msgspec.Meta(max_length=200)]
PREFIX = "/api/v1/internships"

HOSTS_AND_OFFICERS = allow(StaffRole.OFFICER, StaffRole.ADMIN, organisations=(OrgType.ENTERPRISE,))


class PlacementIn(Input):
    person_id: Id
    school: Text
    # A registered programme (GET /api/v1/internship-programmes): the months and the cap
    # are per intern per programme, whichever host reports them.
    programme_id: Id
    start_date: date
    end_date: date
    insurance_reference: Text  # the intern's insurance policy or reference number
    insured_from: date
    insured_to: date
    # Only when staff register on a host's behalf; an enterprise registers for itself.
    host_organisation_id: Id | None = None


class InsuranceIn(Input):
    insurance_reference: Text
    insured_from: date
    insured_to: date


class MonthIn(Input):
    month: Annotated[str, msgspec.Meta(max_length=20)]  # YYYY-MM
    days_attended: Annotated[int, msgspec.Meta(ge=-1000, le=1000)]


class StepOut(Output):
    zh: str
    en: str


class MonthOut(Output):
    claim_id: int
    month: str
    days_attended: int | None
    days_in_month: int | None
    status: str
    amount_fen: int | None
    trace: list[StepOut] | None
    calculated_at: datetime | None
    submitted_by: str
    submitted_at: datetime


class MonthReportedOut(MonthOut):
    placement_id: int
    calculation_job_id: int


class PlacementSummaryOut(Output):
    id: int
    host_organisation_id: int
    host_name: str
    person_id: int
    person_name: str
    id_number: str  # masked unless the caller sees whole ID numbers
    school: str
    programme_id: int | None  # None: not mapped to a registered programme
    programme: str
    start_date: date
    end_date: date
    insurance_reference: str
    insured_from: date
    insured_to: date
    created_by: str
    created_at: datetime


class PlacementOut(PlacementSummaryOut):
    months: list[MonthOut]


class PlacementPage(Output):
    items: list[PlacementSummaryOut]
    next_cursor: str | None


class MonthFileOut(Output):
    id: int
    host_organisation_id: int
    filename: str
    file_format: str
    encoding: str | None
    size_bytes: int
    sha256: str
    total_rows: int
    accepted: int
    duplicate: int
    rejected: int
    error_file_csv: str | None
    error_file_xlsx: str | None
    uploaded_by: str
    created_at: datetime
    # Only in the answer to the upload:
    claim_ids: list[int] | None = None
    calculation_job_id: int | None = None


def _file_out(row: dict[str, Any]) -> MonthFileOut:
    base = f"{PREFIX}/month-files/{row['id']}/errors"
    has_errors = row["error_csv_path"] is not None
    return msgspec.convert(
        {
            **{k: v for k, v in row.items() if k != "error_csv_path"},
            "filename": shown(row["filename"]),
            "error_file_csv": f"{base}.csv" if has_errors else None,
            "error_file_xlsx": f"{base}.xlsx" if has_errors else None,
        },
        MonthFileOut,
    )


class InternshipController(Controller):
    path = PREFIX
    tags = ["internships"]

    @post("/", guards=[HOSTS_AND_OFFICERS], status_code=HTTP_201_CREATED)
    async def register(self, data: JSONBody[PlacementIn], request: AnyRequest) -> PlacementOut:
        """Registers an intern's placement at a host enterprise (the host enterprise; officers,
        admins) under a registered programme, with its dates and insurance."""
        new = rules.NewPlacement(
            person_id=data.person_id,
            school=data.school,
            programme_id=data.programme_id,
            start_date=data.start_date,
            end_date=data.end_date,
            insurance_reference=data.insurance_reference,
            insured_from=data.insured_from,
            insured_to=data.insured_to,
        )
        placement = await service.register(request.user, data.host_organisation_id, new)
        return msgspec.convert(placement, PlacementOut)

    @get("/", guards=[anyone_signed_in])
    async def list_placements(
        self,
        request: AnyRequest,
        host_organisation_id: QueryId = None,
        person_id: QueryId = None,
        programme: QueryText = None,
        programme_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> PlacementPage:
        """Lists internship placements by host, person or programme (name or id): all for staff,
        its own for a host enterprise."""
        rows = await service.list_visible(
            request.user,
            host_organisation_id=host_organisation_id,
            person_id=person_id,
            programme=programme,
            programme_id=programme_id,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return PlacementPage(
            items=[msgspec.convert(r, PlacementSummaryOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/{placement_id:int}", guards=[anyone_signed_in])
    async def get_one(self, placement_id: RecordId, request: AnyRequest) -> PlacementOut:
        """Returns one internship placement with its reported months: any for staff, its own for the
        host enterprise."""
        return msgspec.convert(await service.get(request.user, placement_id), PlacementOut)

    @put("/{placement_id:int}/insurance", guards=[HOSTS_AND_OFFICERS], status_code=HTTP_200_OK)
    async def update_insurance(
        self, placement_id: RecordId, data: JSONBody[InsuranceIn], request: AnyRequest
    ) -> PlacementOut:
        """Records a placement's renewed or corrected insurance (the host enterprise; officers,
        admins); calculated months keep their amounts until recalculated."""
        placement = await service.update_insurance(
            request.user,
            placement_id,
            data.insurance_reference,
            data.insured_from,
            data.insured_to,
        )
        return msgspec.convert(placement, PlacementOut)

    @post("/{placement_id:int}/months", guards=[HOSTS_AND_OFFICERS], status_code=HTTP_201_CREATED)
    async def report_month(
        self, placement_id: RecordId, data: JSONBody[MonthIn], request: AnyRequest
    ) -> MonthReportedOut:
        """Reports an intern's days attended in one month (the host enterprise; officers, admins),
        creating that month's subsidy claim."""
        reported = await service.report_month(
            request.user, placement_id, data.month, data.days_attended
        )
        return msgspec.convert(reported, MonthReportedOut)

    @post(
        "/month-files",
        guards=[HOSTS_AND_OFFICERS],
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # the limit is checked while streaming
        description="Uploads a file of monthly attendance reports in CSV or XLSX (CSV in UTF-8 "
        "or GBK; the request body with ?filename=months.csv, or multipart field `file`). "
        "Staff name the host "
        "with ?host_organisation_id=. Answers with the counts and the error file links.",
    )
    async def upload_months(
        self,
        request: AnyRequest,
        host_organisation_id: QueryId = None,
        filename: UploadName = None,
    ) -> MonthFileOut:
        settings: Settings = request.app.state.settings
        host_id = await service.host_for(request.user, host_organisation_id)
        chunks, name = await uploaded_file_chunks(request, month_files.MAX_BYTES, filename)
        received = await receive(
            chunks,
            name,
            settings.data_dir,
            month_files.MAX_BYTES,
            folder_name=month_files.FOLDER,
            columns=COLUMNS,
            limits=claim_file_limits(),
        )
        return _file_out(await month_files.submit(request.user, host_id, received))

    @get("/month-files/{file_id:int}", guards=[anyone_signed_in])
    async def get_month_file(self, file_id: RecordId, request: AnyRequest) -> MonthFileOut:
        """Returns one uploaded attendance file with its counts and error file links: any for staff,
        its own for the host enterprise."""
        return _file_out(await month_files.get_visible(request.user, file_id))

    @get("/month-files/{file_id:int}/errors.csv", guards=[anyone_signed_in], media_type="text/csv")
    async def errors_csv(self, file_id: RecordId, request: AnyRequest) -> File:
        """Downloads an attendance file's rejected rows with their errors as CSV (staff, the host
        enterprise)."""
        path = await month_files.error_file(request.user, file_id, "csv")
        return File(
            path,
            filename=f"internship-months-{file_id}-errors.csv",
            media_type="text/csv; charset=utf-8",
        )

    @get("/month-files/{file_id:int}/errors.xlsx", guards=[anyone_signed_in], media_type=XLSX_TYPE)
    async def errors_xlsx(self, file_id: RecordId, request: AnyRequest) -> File:
        """Downloads an attendance file's rejected rows with their errors as XLSX (staff, the host
        enterprise)."""
        path = await month_files.error_file(request.user, file_id, "xlsx")
        return File(path, filename=f"internship-months-{file_id}-errors.xlsx", media_type=XLSX_TYPE)

    @get("/month-files/template.csv", guards=[anyone_signed_in], media_type="text/csv")
    async def template_csv(self) -> Response[bytes]:
        """Downloads the attendance file template in CSV (anyone signed in), with Chinese and
        English headers and an example row."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([f"{c.zh}/{c.en}" for c in COLUMNS])
        writer.writerow(["", "441900199005171232", "张三", "百校千人-2026", "2026-03", "22"])
        return Response(
            out.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="internship-months.csv"'},
        )
