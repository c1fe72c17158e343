"""Disbursement batches over HTTP. Thin: each route converts and calls the service.
Finance builds, approves, reconciles and downloads the bank file; auditors read."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from app.settings import Settings
from kernel.errors import InvalidInput
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import MAX_ID, Cursor, Limit, QueryText, RecordId
from registry.exports import XLSX_MEDIA_TYPE, bytes_download
from subsidies.batches import (
    approval,
    building,
    cancellation,
    payment_file,
    queries,
    reconciliation,
    rules,
)
from subsidies.batches.approval import PAYMENT_FILE
from subsidies.batches.selection import MAX_CLAIM_IDS, Filters

AnyRequest = Request[Principal, Any, Any]
FINANCE = allow(StaffRole.FINANCE)
READERS = allow(StaffRole.FINANCE, StaffRole.AUDITOR)
# The bank file holds whole account numbers, which auditors see masked (FULL_ACCOUNT_ROLES).
RETURN_FILE_MAX_BYTES = 64 << 20


class FiltersIn(Input):
    """What a batch takes; a preview and the build after it are given the same filters."""

    scheme: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    period_from: date | None = None  # the claim's period (basis date)
    period_to: date | None = None
    approved_from: date | None = None  # the day the claim was approved (Beijing time)
    approved_to: date | None = None
    town: Annotated[str, msgspec.Meta(max_length=16)] | None = None  # the payee's town
    payee_kind: Annotated[str, msgspec.Meta(max_length=16)] | None = None  # person/organisation
    claim_ids: (
        Annotated[
            list[Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]],
            msgspec.Meta(max_length=MAX_CLAIM_IDS),
        ]
        | None
    ) = None

    def filters(self) -> Filters:
        return Filters(
            self.scheme,
            self.period_from,
            self.period_to,
            self.approved_from,
            self.approved_to,
            self.town,
            self.payee_kind,
            None if self.claim_ids is None else tuple(self.claim_ids),
        )


class CancellationIn(Input):
    reason: Annotated[str, msgspec.Meta(max_length=cancellation.REASON_MAX + 200)]


class SchemeTotalOut(Output):
    scheme: str
    count: int
    total_fen: int
    total_yuan: str


class ExcludedOut(Output):
    claim_id: int
    scheme: str
    reason: str


class PreviewOut(Output):
    count: int
    total_fen: int
    total_yuan: str
    schemes: list[SchemeTotalOut]
    excluded_count: int  # approved claims left out: no account, or a change to confirm
    excluded: list[ExcludedOut]  # the first 200 of them


class JobRefOut(Output):
    id: int
    kind: str
    status: str
    progress: int
    error: str | None


class BatchSummaryOut(Output):
    id: int
    number: str
    status: str
    scheme: str | None
    period_from: date | None
    period_to: date | None
    selection: dict[str, Any] | None  # every filter it was built with
    declared_count: int
    declared_total_fen: int
    built_by: str
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class BatchOut(BatchSummaryOut):
    declared_total_yuan: str
    schemes: list[SchemeTotalOut]
    lines_by_status: dict[str, int]
    jobs: list[JobRefOut]


class CreatedOut(Output):
    batch: BatchOut
    excluded_count: int
    excluded: list[ExcludedOut]


class BatchPage(Output):
    items: list[BatchSummaryOut]
    next_cursor: str | None


class LineOut(Output):
    id: int
    line_no: int
    claim: int
    scheme: str
    payee_kind: str
    payee_name: str
    payee_account: str  # masked for auditors
    payee_bank: str
    payee_bank_code: str | None
    person: int | None
    organisation: int | None
    amount_fen: int
    amount_yuan: str
    reference: str
    status: str
    failure_reason: str | None
    settled_at: datetime | None


class LinePage(Output):
    items: list[LineOut]
    next_cursor: str | None


class NotAppliedOut(Output):
    row: int
    reference: str
    reason: str
    expected_yuan: str | None = None
    returned_yuan: str | None = None


class ReconciliationOut(Output):
    batch_id: int
    number: str
    status: str
    rows: int
    paid: int
    failed: int
    unchanged: int
    pending_left: int
    unknown: list[NotAppliedOut]
    mismatched: list[NotAppliedOut]
    contradicting: list[NotAppliedOut]


def _preview_out(preview: building.Preview) -> PreviewOut:
    return PreviewOut(
        count=preview.count,
        total_fen=preview.total_fen,
        total_yuan=rules.yuan(preview.total_fen),
        schemes=[_scheme_out(asdict(s)) for s in preview.schemes],
        excluded_count=preview.excluded_count,
        excluded=[msgspec.convert(e, ExcludedOut) for e in preview.excluded],
    )


def _scheme_out(row: dict[str, Any]) -> SchemeTotalOut:
    return SchemeTotalOut(**row, total_yuan=rules.yuan(row["total_fen"]))


def _with_selection(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "selection": json.loads(row["selection"]) if row["selection"] else None}


def _batch_out(row: dict[str, Any]) -> BatchOut:
    schemes = [_scheme_out(s) for s in row["schemes"]]
    return msgspec.convert(
        {**_with_selection(row), "schemes": schemes}, BatchOut, from_attributes=True
    )


async def _upload(request: AnyRequest) -> bytes:
    """The return file as the raw body (text/csv) or as multipart field `file`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            raise InvalidInput.single("file", "multipart upload needs a field named file")
        data = await upload.read()
    else:
        data = await request.body()
    if not data.strip():
        raise InvalidInput.single("file", "the file is empty")
    return data


class BatchController(Controller):
    path = "/api/v1/batches"
    tags = ["batches"]

    @post("/preview", guards=[FINANCE], status_code=HTTP_200_OK)
    async def preview(self, data: JSONBody[FiltersIn]) -> PreviewOut:
        """Counts and totals what a batch would take now, writing nothing (finance); claims whose
        payee has no complete bank account are listed as excluded."""
        return _preview_out(await building.preview(data.filters()))

    @post("/", guards=[FINANCE], status_code=HTTP_201_CREATED)
    async def create(self, data: JSONBody[FiltersIn], request: AnyRequest) -> CreatedOut:
        """Builds and submits a disbursement batch (finance) from the approved, unbatched claims the
        filters select."""
        batch_id, held = await building.build(request.user, data.filters())
        return CreatedOut(
            batch=_batch_out(await queries.get(batch_id)),
            excluded_count=held.excluded_count,
            excluded=[msgspec.convert(e, ExcludedOut) for e in held.excluded],
        )

    @get("/", guards=[READERS])
    async def list_batches(
        self,
        status: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> BatchPage:
        """Lists disbursement batches, optionally of one status (finance, auditors)."""
        rows = await queries.list_batches(status, decode_cursor(cursor), check_limit(limit))
        return BatchPage(
            items=[msgspec.convert(_with_selection(r), BatchSummaryOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/{batch_id:int}", guards=[READERS])
    async def get_one(self, batch_id: RecordId) -> BatchOut:
        """Returns one disbursement batch with its declared figures and status (finance,
        auditors)."""
        return _batch_out(await queries.get(batch_id))

    @get("/{batch_id:int}/lines", guards=[READERS])
    async def lines(
        self,
        batch_id: RecordId,
        request: AnyRequest,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> LinePage:
        """Lists a batch's payment lines in order, account numbers masked for auditors (finance,
        auditors)."""
        rows = await queries.lines(
            request.user, batch_id, decode_cursor(cursor) or 0, check_limit(limit)
        )
        return LinePage(
            items=[msgspec.convert(r, LineOut) for r in rows],
            next_cursor=next_cursor([r["line_no"] for r in rows], limit),
        )

    @post("/{batch_id:int}/approve", guards=[FINANCE], status_code=HTTP_200_OK)
    async def approve(self, batch_id: RecordId, request: AnyRequest) -> BatchOut:
        """Approves a submitted batch (finance, never its builder) and starts the jobs that write
        its payment file and documents."""
        await approval.approve(request.user, batch_id)
        return _batch_out(await queries.get(batch_id))

    @post("/{batch_id:int}/cancellation", guards=[FINANCE], status_code=HTTP_200_OK)
    async def cancel(
        self, batch_id: RecordId, data: JSONBody[CancellationIn], request: AnyRequest
    ) -> BatchOut:
        """Cancels a submitted batch before approval, with a reason; its claims return to the pool
        (finance)."""
        await cancellation.cancel(request.user, batch_id, data.reason)
        return _batch_out(await queries.get(batch_id))

    @post("/{batch_id:int}/release", guards=[FINANCE], status_code=HTTP_200_OK)
    async def release(
        self, batch_id: RecordId, data: JSONBody[CancellationIn], request: AnyRequest
    ) -> BatchOut:
        """Releases a failed batch whose payment file was never downloaded, with a reason (finance,
        never its builder or approver): its unpaid claims return to the pool."""
        await cancellation.release_failed(request.user, batch_id, data.reason)
        return _batch_out(await queries.get(batch_id))

    @get("/{batch_id:int}/payment-file.csv", guards=[FINANCE], media_type="text/csv")
    async def payment_csv(
        self, batch_id: RecordId, request: AnyRequest, layout: QueryText = None
    ) -> Response[bytes]:
        """Downloads an approved batch's payment file as CSV (finance), with whole account numbers,
        once its figures and digest check out; `layout=` picks a bank's column layout."""
        return await self._file(request, batch_id, "csv", "text/csv; charset=utf-8", layout)

    @get("/{batch_id:int}/payment-file.xlsx", guards=[FINANCE], media_type=XLSX_MEDIA_TYPE)
    async def payment_xlsx(
        self, batch_id: RecordId, request: AnyRequest, layout: QueryText = None
    ) -> Response[bytes]:
        """Downloads an approved batch's payment file as XLSX (finance), with whole account numbers,
        once its figures and digest check out; `layout=` picks a bank's column layout."""
        return await self._file(request, batch_id, "xlsx", XLSX_MEDIA_TYPE, layout)

    @post("/{batch_id:int}/payment-file", guards=[FINANCE], status_code=HTTP_202_ACCEPTED)
    async def rewrite_payment_file(self, batch_id: RecordId, request: AnyRequest) -> JobRefOut:
        """Starts a job writing a batch's payment files again (finance), after a download was
        refused because the file on disk no longer matched its recorded digest."""
        job_id = await payment_file.request_rewrite(request.user, batch_id)
        return JobRefOut(id=job_id, kind=PAYMENT_FILE, status="pending", progress=0, error=None)

    @post(
        "/{batch_id:int}/reconciliation",
        guards=[FINANCE],
        status_code=HTTP_200_OK,
        request_max_body_size=RETURN_FILE_MAX_BYTES,
        description="Reconciles a batch with the bank's return file (finance): CSV with "
        "reference, amount, result paid/failed and reason, as the body or as multipart "
        "field `file`.",
    )
    async def reconcile(self, batch_id: RecordId, request: AnyRequest) -> ReconciliationOut:
        settings: Settings = request.app.state.settings
        report = await reconciliation.import_return(
            request.user, batch_id, await _upload(request), settings.data_dir
        )
        return msgspec.convert(asdict(report), ReconciliationOut)

    async def _file(
        self, request: AnyRequest, batch_id: int, fmt: str, media: str, layout: str | None
    ) -> Response[bytes]:
        settings: Settings = request.app.state.settings
        content, name = await queries.payment_file_download(
            request.user, batch_id, settings.data_dir, fmt, layout
        )
        return bytes_download(content, name, media)
