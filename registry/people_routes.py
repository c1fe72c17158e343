import dataclasses
import re
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import UNSET, UnsetType

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from kernel.clock import local_today
from kernel.errors import InvalidInput
from kernel.file_limits import claim_file_limits
from kernel.pagination import MAX_ID
from kernel.schemas import Input, Output
from kernel.uploads import uploaded_file_chunks
from kernel.web_params import QueryText, RecordId, UploadName
from registry import (
    certificates,
    insured_periods,
    insured_rows,
    payment_account_proposals,
    payment_accounts,
    people,
)
from registry.certificate_routes import CertificateOut, certificate_out
from registry.organisations import FULL_ACCOUNT_ROLES, mask_account
from registry.outcomes.upload import receive

AnyRequest = Request[Principal, Any, Any]
WRITERS = allow(StaffRole.OFFICER, StaffRole.ADMIN)

# Generous caps against oversized input; the domain rules give the precise limits.
Text40 = Annotated[str, msgspec.Meta(max_length=40)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]


class PersonIn(Input):
    id_number: Text40
    name: Text200
    hukou: Text40
    phone: Text40 | None = None
    town: Text40 | None = None
    fresh_graduate: bool = False
    # A fresh graduate needs one of these: the school as text, or the registered school.
    graduate_school: Text200 | None = None
    graduate_school_id: Id | None = None  # a technical or vocational school organisation
    graduate_year: int | None = None  # required for a fresh graduate


class PersonPatch(Input):
    """Only the fields given change; null clears an optional one."""

    name: Text200 | UnsetType = UNSET
    hukou: Text40 | UnsetType = UNSET
    phone: Text40 | UnsetType | None = UNSET
    town: Text40 | UnsetType | None = UNSET
    fresh_graduate: bool | UnsetType = UNSET
    graduate_school: Text200 | UnsetType | None = UNSET
    graduate_school_id: Id | UnsetType | None = UNSET
    graduate_year: int | UnsetType | None = UNSET


class PaymentAccountIn(Input):
    bank_name: Text200
    bank_account: Text40
    bank_code: Text40 | None = None  # CNAPS 联行号, 12 digits
    holder: Text200 | None = None  # the person's own name; left out: that name
    kind: Text40 = payment_accounts.SOCIAL_SECURITY_CARD


class PaymentAccountOut(Output):
    person_id: int
    holder: str
    bank_name: str | None
    bank_code: str | None
    bank_account: str | None  # whole for officers, admins and finance, else masked
    kind: str | None
    set_by: str | None
    set_at: datetime | None
    awaiting_confirmation: bool  # changed while a claim was unpaid: a second officer


class AccountConfirmationIn(Input):
    set_at: Annotated[datetime, msgspec.Meta(tz=True)]  # the change's, as GET shows it


class PaymentAccountImportOut(Output):
    rows: int
    changed: int
    unchanged: int
    awaiting_confirmation: int  # changes a second officer must confirm before batching


class ProposalOut(Output):
    id: int
    person: int
    organisation: int
    bank_name: str
    bank_code: str | None
    bank_account: str  # whole for officers, admins and finance, else masked
    kind: str
    status: str  # pending / confirmed / rejected
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None


class RejectionIn(Input):
    reason: Annotated[str, msgspec.Meta(max_length=payment_account_proposals.REASON_MAX + 100)]


def proposal_out(who: Principal, row: dict[str, Any]) -> ProposalOut:
    if not who.has_any(*FULL_ACCOUNT_ROLES):
        row = {**row, "bank_account": mask_account(row["bank_account"])}
    return msgspec.convert(row, ProposalOut)


ACCOUNT_FILE_MAX_BYTES = 16 << 20


async def _uploaded(request: AnyRequest) -> bytes:
    """The file as the raw body or as multipart field `file`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if upload is None or not hasattr(upload, "read"):
            raise InvalidInput.single("file", "multipart upload needs a field named file")
        data = await upload.read()
    else:
        data = await request.body()
    if not data.strip():
        raise InvalidInput.single("file", "the file is empty")
    return data


def payment_account_out(who: Principal, row: dict[str, Any]) -> PaymentAccountOut:
    whole = who.has_any(*FULL_ACCOUNT_ROLES)
    return msgspec.convert(payment_accounts.shown(whole, row), PaymentAccountOut)


class PersonOut(Output):
    id: int
    id_number: str  # whole for officers and admins, else masked
    name: str
    birth_date: date
    sex: str
    hukou: str
    phone: str | None
    town: str | None
    # Read only, derived from the insured periods: every month recorded so far, and the
    # latest recording (…/insured-periods holds the dated record).
    insured_months: int | None
    insured_confirmed_on: date | None
    fresh_graduate: bool
    graduate_school: str | None
    graduate_school_id: int | None
    graduate_year: int | None
    region_warning: str | None  # an unknown region code, until an officer confirms it
    region_confirmed_by: str | None
    created_at: datetime
    updated_at: datetime


class LevelOut(Output):
    occupation_code: str
    occupation_name: str
    level: int
    level_zh: str
    level_en: str
    certificate_id: int
    number: str
    issued_on: date


class FactOut(Output):
    name: str
    required: str
    actual: str | int | bool | None
    passed: bool | None  # null: this system cannot tell
    note: str | None
    as_of: date | None


class ClauseOut(Output):
    number: int
    title: str
    passed: bool
    state: str  # passed / failed / undetermined (a fact not known on the date)
    facts: list[FactOut]


class MissingOut(Output):
    clause: int | None  # null: a precondition
    fact: str
    reason: str


class EligibilityOut(Output):
    person_id: int
    scheme: str
    on: date
    eligible: bool
    state: str  # eligible / not_eligible / undetermined
    applying_clauses: list[int]
    reason: str
    preconditions: list[FactOut]
    clauses: list[ClauseOut]
    missing: list[MissingOut]  # what is not known on the date, when undetermined


Month = Annotated[str, msgspec.Meta(max_length=7)]


class InsuredPeriodIn(Input):
    first_month: Month  # YYYY-MM
    last_month: Month  # YYYY-MM, not after the current month
    employer_credit_code: Text40 | None = None


class InsuredPeriodOut(Output):
    id: int
    person_id: int
    first_month: str  # YYYY-MM
    last_month: str
    employer_credit_code: str | None
    source: str  # officer / import / legacy
    source_file_sha256: str | None
    recorded_on: date  # counts for dates from this day on
    recorded_by: str
    created_at: datetime


class InsuredFileOut(Output):
    total_rows: int
    recorded: int
    already_recorded: int  # the same person, month and employer imported before
    people: int
    sha256: str
    recorded_on: date


def period_out(row: dict[str, Any]) -> InsuredPeriodOut:
    months = {k: f"{row[k]:%Y-%m}" for k in ("first_month", "last_month")}
    return msgspec.convert({**row, **months}, InsuredPeriodOut, strict=False)


def person_out(who: Principal, person: dict[str, Any]) -> PersonOut:
    return msgspec.convert(people.shown(who, person), PersonOut, strict=False)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_on(value: str | None, today: date) -> date:
    if value is None:
        return today
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.single("on", "must be a date as YYYY-MM-DD") from None


class PersonController(Controller):
    """Single people and their records. The list (GET /api/v1/people) is registry.search."""

    path = "/api/v1/people"
    tags = ["registry"]

    @post("/", guards=[WRITERS], status_code=HTTP_201_CREATED)
    async def create(self, data: JSONBody[PersonIn], request: AnyRequest) -> PersonOut:
        """Registers a person by resident ID number; a second registration of the same ID answers
        409 (officers, admins)."""
        new = people.NewPerson(**msgspec.structs.asdict(data))
        return person_out(request.user, await people.create(request.user, new))

    @get("/{person_id:int}", guards=[anyone_signed_in])
    async def get_one(self, person_id: RecordId, request: AnyRequest) -> PersonOut:
        """Returns one person: any for staff, for an organisation only people it is linked to."""
        return person_out(request.user, await people.get_visible(request.user, person_id))

    @patch("/{person_id:int}", guards=[WRITERS])
    async def update(
        self, person_id: RecordId, data: JSONBody[PersonPatch], request: AnyRequest
    ) -> PersonOut:
        """Changes some of a person's details (officers, admins)."""
        changes = {f: v for f, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return person_out(request.user, await people.update(request.user, person_id, changes))

    @post(
        "/{person_id:int}/confirm-region",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_200_OK,
    )
    async def confirm_region(self, person_id: RecordId, request: AnyRequest) -> PersonOut:
        """Confirms a person's ID region code that the national table does not know (officers),
        clearing the region warning."""
        return person_out(request.user, await people.confirm_region(request.user, person_id))

    @get(
        "/{person_id:int}/payment-account",
        guards=[allow(StaffRole.OFFICER, StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR)],
    )
    async def payment_account(self, person_id: RecordId, request: AnyRequest) -> PaymentAccountOut:
        """Returns the account a person's subsidies are paid into (officers, admins, finance whole;
        auditors with the number masked)."""
        return payment_account_out(request.user, await payment_accounts.get(person_id))

    @put("/{person_id:int}/payment-account", guards=[WRITERS])
    async def set_payment_account(
        self, person_id: RecordId, data: JSONBody[PaymentAccountIn], request: AnyRequest
    ) -> PaymentAccountOut:
        """Records the account a person's subsidies are paid into, by default their social security
        card's (officers, admins). A change while any claim of the person is unpaid (not paid,
        rejected or withdrawn) waits for a second officer's confirmation before the person's
        claims are batched."""
        account = payment_accounts.PaymentAccount(**msgspec.structs.asdict(data))
        row = await payment_accounts.record(request.user, person_id, account, via="api")
        return payment_account_out(request.user, row)

    @post(
        "/{person_id:int}/payment-account/proposals",
        guards=[allow(organisations=(OrgType.ENTERPRISE,))],
        status_code=HTTP_201_CREATED,
    )
    async def propose_payment_account(
        self, person_id: RecordId, data: JSONBody[PaymentAccountIn], request: AnyRequest
    ) -> ProposalOut:
        """Proposes an employee's payment account (an enterprise employing the person); it
        changes nothing until an officer confirms it."""
        account = payment_accounts.PaymentAccount(**msgspec.structs.asdict(data))
        row = await payment_account_proposals.propose(request.user, person_id, account)
        return proposal_out(request.user, row)

    @get("/{person_id:int}/payment-account/proposals", guards=[WRITERS])
    async def list_payment_account_proposals(
        self, person_id: RecordId, request: AnyRequest
    ) -> list[ProposalOut]:
        """Lists the latest 100 payment account proposals for a person, newest first (officers,
        admins)."""
        rows = await payment_account_proposals.of_person(person_id)
        return [proposal_out(request.user, r) for r in rows]

    @post(
        "/{person_id:int}/payment-account/proposals/{proposal_id:int}/confirmation",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_200_OK,
    )
    async def confirm_payment_account_proposal(
        self, person_id: RecordId, proposal_id: RecordId, request: AnyRequest
    ) -> ProposalOut:
        """Confirms an employer's proposal (officers): the account is recorded as this officer's
        change, audited."""
        row = await payment_account_proposals.confirm(request.user, person_id, proposal_id)
        return proposal_out(request.user, row)

    @post(
        "/{person_id:int}/payment-account/proposals/{proposal_id:int}/rejection",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_200_OK,
    )
    async def reject_payment_account_proposal(
        self,
        person_id: RecordId,
        proposal_id: RecordId,
        data: JSONBody[RejectionIn],
        request: AnyRequest,
    ) -> ProposalOut:
        """Rejects an employer's proposal with a reason (officers); nothing is recorded."""
        row = await payment_account_proposals.reject(
            request.user, person_id, proposal_id, data.reason
        )
        return proposal_out(request.user, row)

    @post(
        "/payment-accounts",
        guards=[WRITERS],
        status_code=HTTP_200_OK,
        request_max_body_size=ACCOUNT_FILE_MAX_BYTES,
        description="Records people's payment accounts from a CSV or XLSX file (officers, "
        "admins), as the body or as multipart field `file`: columns 身份证号, 开户行, 联行号 "
        "(optional), 收款账号, 户名, 账户类型 (optional; English names accepted). All or "
        "nothing: any bad row answers 400 naming its row and column, and nothing changes.",
    )
    async def import_payment_accounts(self, request: AnyRequest) -> PaymentAccountImportOut:
        report = await payment_accounts.import_file(request.user, await _uploaded(request))
        return PaymentAccountImportOut(**dataclasses.asdict(report))

    @post(
        "/{person_id:int}/payment-account/confirmation",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_200_OK,
    )
    async def confirm_payment_account(
        self, person_id: RecordId, data: JSONBody[AccountConfirmationIn], request: AnyRequest
    ) -> PaymentAccountOut:
        """Confirms the change of a person's payment account that waits for it, named by the
        `set_at` GET shows (officers, never the one who made the change); 409 if the account
        changed since. The person's approved claims may then be batched."""
        row = await payment_accounts.confirm_change(request.user, person_id, data.set_at)
        return payment_account_out(request.user, row)

    @get("/{person_id:int}/certificates", guards=[anyone_signed_in])
    async def certificate_history(
        self, person_id: RecordId, request: AnyRequest
    ) -> list[CertificateOut]:
        """Lists a person's certificates, newest first and revoked ones included (staff see all; an
        organisation only those it issued)."""
        rows = await certificates.history(request.user, person_id)
        return [certificate_out(request.user, r) for r in rows]

    @get("/{person_id:int}/levels", guards=[anyone_signed_in])
    async def levels(self, person_id: RecordId, request: AnyRequest) -> list[LevelOut]:
        """Lists a person's highest level held on a valid certificate in each occupation."""
        rows = await certificates.levels(request.user, person_id)
        return [msgspec.convert(r, LevelOut, strict=False) for r in rows]

    @get("/{person_id:int}/registration-eligibility", guards=[anyone_signed_in])
    async def registration_eligibility(
        self,
        person_id: RecordId,
        request: AnyRequest,
        on: QueryText = None,
    ) -> EligibilityOut:
        """Assesses a person's eligibility for household registration (the 2012 high-skill talent
        scheme) on a date, `?on=` or today."""
        when = parse_on(on, local_today())
        assessment = await certificates.registration_eligibility(request.user, person_id, when)
        return msgspec.convert(
            {"person_id": person_id, **dataclasses.asdict(assessment)},
            EligibilityOut,
            strict=False,
        )

    @get("/{person_id:int}/insured-periods", guards=[anyone_signed_in])
    async def insured_periods(
        self, person_id: RecordId, request: AnyRequest
    ) -> list[InsuredPeriodOut]:
        """Lists a person's months of Dongguan pension insurance as recorded, each with the day it
        was recorded (eligibility on a date counts only what was recorded by then)."""
        rows = await insured_periods.list_visible(request.user, person_id)
        return [period_out(r) for r in rows]

    @post("/{person_id:int}/insured-periods", guards=[WRITERS], status_code=HTTP_201_CREATED)
    async def add_insured_period(
        self, person_id: RecordId, data: JSONBody[InsuredPeriodIn], request: AnyRequest
    ) -> InsuredPeriodOut:
        """Records months of Dongguan pension insurance as known today (officers, admins);
        overlapping periods count each month once."""
        period = await insured_periods.add(
            request.user,
            person_id,
            data.first_month,
            data.last_month,
            data.employer_credit_code,
        )
        return period_out(period)

    @post(
        "/insured-months",
        guards=[WRITERS],
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # the limit is checked while streaming
        description="Imports the monthly pension contributions the social-insurance system "
        "exports, in CSV (UTF-8 or GBK) or XLSX: ID number 身份证号, month 缴费月份 (YYYY-MM), "
        "employer credit code 单位统一社会信用代码 (optional); the request body with "
        "?filename=months.csv, or multipart field `file`. Every month is recorded as known "
        "today; a file with a bad row records nothing and answers 400 naming each row and "
        "column (officers, admins).",
    )
    async def import_insured_months(
        self, request: AnyRequest, filename: UploadName = None
    ) -> InsuredFileOut:
        chunks, name = await uploaded_file_chunks(request, insured_periods.MAX_BYTES, filename)
        received = await receive(
            chunks,
            name,
            request.app.state.settings.data_dir,
            insured_periods.MAX_BYTES,
            folder_name=insured_periods.FOLDER,
            columns=insured_rows.COLUMNS,
            limits=claim_file_limits(),
        )
        return msgspec.convert(
            await insured_periods.import_file(request.user, received), InsuredFileOut
        )
