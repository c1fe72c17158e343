from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from kernel.schemas import Input, Output
from kernel.web_params import MAX_ID, PRINTABLE
from subsidies.vouchers import documents, issuing, redemption, reimbursement, views

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
VoucherNumber = Annotated[str, PathParameter(min_length=1, max_length=40, pattern=PRINTABLE)]
Number = Annotated[str, msgspec.Meta(max_length=40)]


class IssueIn(Input):
    person_id: Id


class RedemptionIn(Input):
    id_number: Annotated[str, msgspec.Meta(max_length=40)]  # the holder's resident ID
    course: Annotated[str, msgspec.Meta(max_length=200)]
    occupation_code: Annotated[str, msgspec.Meta(max_length=40)]
    course_level: int
    course_start: date
    course_fee_fen: int  # what the course costs; the voucher pays at most this


class CancelIn(Input):
    reason: Annotated[str, msgspec.Meta(max_length=1000)]


class ClaimIn(Input):
    # Which passed outcome the claim rests on; by default the latest that matches.
    outcome_id: Id | None = None


class VoucherOut(Output):
    number: str
    person_id: int
    person_name: str
    id_number: str  # masked unless the caller sees whole ID numbers
    year: int
    ordinal: int
    policy_version: int
    face_value_fen: int
    covers_levels: list[int]
    issued_on: date
    expires_on: date  # the last day it can be redeemed
    status: str  # issued / redeemed / expired / cancelled
    # The redemption: shown to staff and to the institution that made it.
    institution_id: int | None
    redeemed_on: date | None
    course: str | None
    occupation_code: str | None
    course_level: int | None
    course_start: date | None
    course_fee_fen: int | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    claim_id: int | None


class DocumentRequestOut(Output):
    document_id: int | None  # stored: GET /api/v1/documents/{id}/download
    code: str | None  # its verification code
    job_id: int | None  # not yet: the rendering job (GET /api/v1/jobs/{id})


class IssuanceOut(Output):
    job_id: int
    issued_on: date
    policy_version: int


class ClaimOut(Output):
    claim_id: int  # GET /api/v1/claims/{id}: its status, and once calculated its amount
    voucher_number: str
    outcome_id: int


OFFICERS = allow(StaffRole.OFFICER, StaffRole.ADMIN)
INSTITUTIONS = allow(organisations=(OrgType.TRAINING_INSTITUTION,))
READERS = allow(*StaffRole, organisations=(OrgType.TRAINING_INSTITUTION,))


def _out(voucher: dict[str, Any]) -> VoucherOut:
    return msgspec.convert(voucher, VoucherOut, from_attributes=False)


class VoucherController(Controller):
    path = "/api/v1/vouchers"
    tags = ["training vouchers"]

    @post("/", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def issue(self, data: JSONBody[IssueIn], request: AnyRequest) -> VoucherOut:
        """Issues this year's next training voucher to one person insured in Dongguan (officers,
        admins)."""
        return _out(await issuing.issue(request.user, data.person_id))

    @post("/issuance", guards=[OFFICERS], status_code=HTTP_202_ACCEPTED)
    async def issue_to_everyone(self, request: AnyRequest) -> IssuanceOut:
        """Starts a job issuing a voucher to every eligible person without one this year (officers,
        admins)."""
        return msgspec.convert(await issuing.start_bulk(request.user), IssuanceOut)

    @get("/{number:str}", guards=[READERS])
    async def get_one(self, number: VoucherNumber, request: AnyRequest) -> VoucherOut:
        """Returns one training voucher by number; redemption details only to staff and the
        redeeming institution."""
        return _out(await views.get(request.user, number))

    @post("/{number:str}/document", guards=[OFFICERS], status_code=HTTP_202_ACCEPTED)
    async def document(self, number: VoucherNumber, request: AnyRequest) -> DocumentRequestOut:
        """Asks for the printable voucher PDF with its verification code and QR: its document id
        once stored, else the job that renders it (officers, admins)."""
        return DocumentRequestOut(**await documents.request_document(request.user, number))

    @post("/{number:str}/redemption", guards=[INSTITUTIONS], status_code=HTTP_200_OK)
    async def redeem(
        self, number: VoucherNumber, data: JSONBody[RedemptionIn], request: AnyRequest
    ) -> VoucherOut:
        """Redeems a voucher by enrolling its holder on a course, once and before expiry (training
        institutions)."""
        enrolment = redemption.Enrolment(
            id_number=data.id_number,
            course=data.course,
            occupation_code=data.occupation_code,
            course_level=data.course_level,
            course_start=data.course_start,
            course_fee_fen=data.course_fee_fen,
        )
        return _out(await redemption.redeem(request.user, number, enrolment))

    @post("/{number:str}/cancellation", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def cancel(
        self, number: VoucherNumber, data: JSONBody[CancelIn], request: AnyRequest
    ) -> VoucherOut:
        """Cancels an unused voucher with a reason; it keeps its place in the holder's year
        (officers, admins)."""
        return _out(await redemption.cancel(request.user, number, data.reason))

    @post("/{number:str}/claim", guards=[INSTITUTIONS], status_code=HTTP_201_CREATED)
    async def claim(
        self, number: VoucherNumber, data: JSONBody[ClaimIn], request: AnyRequest
    ) -> ClaimOut:
        """Claims a redeemed voucher's course fee reimbursement (the redeeming institution), once a
        passed outcome for the holder and course is reported."""
        return msgspec.convert(
            await reimbursement.claim(request.user, number, data.outcome_id), ClaimOut
        )
