"""Claims and budgets over HTTP. Thin: each route converts and calls the service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import PRINTABLE, Cursor, Limit, QueryId, QueryText, QueryYear, RecordId
from subsidies.claims import budgets, rules, service

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
Reason = Annotated[str, msgspec.Meta(max_length=rules.REASON_MAX + 200)]
Short = Annotated[str, msgspec.Meta(max_length=300)]
SchemeName = Annotated[str, PathParameter(min_length=1, max_length=40, pattern=PRINTABLE)]
Year = Annotated[int, PathParameter(ge=1, le=9999)]


class ClaimIn(Input):
    scheme: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    basis_date: date
    person_id: Id | None = None
    details: dict[str, Any] = {}
    # Only when an officer claims on an organisation's behalf.
    claimant_organisation_id: Id | None = None


class ReasonIn(Input):
    reason: Reason


class ApprovalsIn(Input):
    claim_ids: Annotated[list[Id], msgspec.Meta(max_length=rules.BULK_MAX * 2)]


class RejectionsIn(Input):
    claim_ids: Annotated[list[Id], msgspec.Meta(max_length=rules.BULK_MAX * 2)]
    reason: Reason


class AccountIn(Input):
    """Empty: confirm the account already on record."""

    bank_name: Short | None = None
    bank_account: Short | None = None
    bank_account_name: Short | None = None


class BudgetIn(Input):
    amount_fen: int


class ClaimSummaryOut(Output):
    id: int
    scheme: str
    origin: str
    status: str
    claimant_organisation_id: int | None
    claimant_name: str | None
    person_id: int | None
    person_name: str | None
    person_id_number: str | None  # masked unless the caller sees whole ID numbers
    payee_kind: str
    payee_organisation_id: int | None
    basis_date: date
    budget_year: int
    amount_fen: int | None
    amount_yuan: str | None
    submitted_at: datetime
    decided_at: datetime | None


class TraceStep(Output):
    zh: str
    en: str


class ClaimOut(ClaimSummaryOut):
    dedupe_key: str
    certificate_id: int | None
    details: dict[str, Any]
    policy_version_id: int | None
    policy_scheme: str | None
    policy_version: int | None
    cap_key: str | None
    inputs: Any
    trace: list[TraceStep] | None
    calculated_at: datetime | None
    calculation_job: int | None
    submitted_by: str
    account_confirmed_by: str | None
    account_confirmed_at: datetime | None
    decided_by: str | None
    reject_reason: str | None
    hold_reason: str | None
    recovery_reason: str | None
    withdrawn_at: datetime | None
    paid_at: datetime | None
    batch_id: int | None
    updated_at: datetime


class AccountProposedOut(Output):
    """202 to confirm-account: the person's account given differs from the one on
    record, so it is a proposal an officer decides; the claim stays proposed."""

    detail: str
    proposal_id: int
    claim: ClaimOut


class ClaimPage(Output):
    items: list[ClaimSummaryOut]
    next_cursor: str | None


class OutcomeOut(Output):
    claim_id: int
    outcome: str  # approved / rejected / refused
    error: str | None  # conflict / forbidden / not_found, when refused
    reason: str | None
    amount_fen: int | None


class BulkOut(Output):
    decided: int
    refused: int
    results: list[OutcomeOut]


class BudgetOut(Output):
    scheme: str
    year: int
    amount_fen: int
    committed_fen: int
    remaining_fen: int
    amount_yuan: str
    committed_yuan: str
    remaining_yuan: str
    set_by: str


class BudgetList(Output):
    items: list[BudgetOut]


OFFICERS = allow(StaffRole.OFFICER)
CLAIMANTS = allow(StaffRole.OFFICER, organisations=True)
STAFF = allow(*StaffRole)
FINANCE = allow(StaffRole.FINANCE, StaffRole.ADMIN)


def _out(claim: dict[str, Any]) -> ClaimOut:
    return msgspec.convert(claim, ClaimOut)


def _bulk(results: list[service.Outcome]) -> BulkOut:
    refused = sum(1 for r in results if r.outcome == "refused")
    return BulkOut(
        decided=len(results) - refused,
        refused=refused,
        results=[msgspec.convert(r, OutcomeOut, from_attributes=True) for r in results],
    )


class ClaimController(Controller):
    path = "/api/v1/claims"
    tags = ["claims"]

    @post("/", guards=[CLAIMANTS], status_code=HTTP_201_CREATED)
    async def submit(self, data: JSONBody[ClaimIn], request: AnyRequest) -> ClaimOut:
        """Submits a subsidy claim under a scheme, checked by the scheme's own rules (a claimant
        organisation for itself, or an officer on its behalf)."""
        claim = await service.submit_request(
            request.user,
            data.scheme,
            basis_date=data.basis_date,
            person_id=data.person_id,
            details=data.details,
            claimant_organisation_id=data.claimant_organisation_id,
        )
        return _out(claim)

    @get("/", guards=[anyone_signed_in])
    async def list_claims(
        self,
        request: AnyRequest,
        scheme: QueryText = None,
        status: QueryText = None,
        year: QueryYear = None,
        claimant: QueryId = None,
        person: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ClaimPage:
        """Lists claims by scheme, status, year, claimant or person: all for staff, its own for an
        organisation."""
        rows = await service.list_visible(
            request.user,
            service.ClaimFilters(
                scheme=scheme, status=status, year=year, claimant=claimant, person=person
            ),
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return ClaimPage(
            items=[msgspec.convert(r, ClaimSummaryOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/{claim_id:int}", guards=[anyone_signed_in])
    async def get_one(self, claim_id: RecordId, request: AnyRequest) -> ClaimOut:
        """Returns one claim with its calculation and trace: any for staff, its own for an
        organisation."""
        return _out(await service.get(request.user, claim_id))

    @post("/{claim_id:int}/withdraw", guards=[CLAIMANTS], status_code=HTTP_200_OK)
    async def withdraw(self, claim_id: RecordId, request: AnyRequest) -> ClaimOut:
        """Withdraws a claim before approval, so the same thing can be claimed again (the claimant,
        or an officer on its behalf)."""
        return _out(await service.withdraw(request.user, claim_id))

    @post("/{claim_id:int}/confirm-account", guards=[CLAIMANTS], status_code=HTTP_200_OK)
    async def confirm_account(
        self, claim_id: RecordId, data: JSONBody[AccountIn], request: AnyRequest
    ) -> Response[ClaimOut | AccountProposedOut]:
        """Confirms the bank account of a claim the automatic scan proposed (its beneficiary
        organisation, or an officer), submitting it for calculation. An organisation giving
        a person's account other than the one on record proposes it (202): an officer
        confirms the proposal, then the claim is confirmed against the account on record."""
        account = service.AccountDetails(data.bank_name, data.bank_account, data.bank_account_name)
        done = await service.confirm_account(request.user, claim_id, account)
        if done.proposal is None:
            return Response(_out(done.claim), status_code=HTTP_200_OK)
        proposal_id = done.proposal["id"]
        detail = (
            "the account differs from the one on record, so it awaits an officer: payment "
            f"account proposal {proposal_id}; confirm the claim again once it is confirmed"
        )
        return Response(
            AccountProposedOut(detail, proposal_id, _out(done.claim)), status_code=HTTP_202_ACCEPTED
        )

    @post("/{claim_id:int}/approve", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def approve(self, claim_id: RecordId, request: AnyRequest) -> ClaimOut:
        """Approves a calculated claim, taking its amount from its cap and budget (officers; never
        its submitter or one affiliated with claimant or payee)."""
        return _out(await service.approve(request.user, claim_id))

    @post("/{claim_id:int}/reject", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def reject(
        self, claim_id: RecordId, data: JSONBody[ReasonIn], request: AnyRequest
    ) -> ClaimOut:
        """Rejects a calculated or held claim with a reason (officers; never its submitter or one
        affiliated with claimant or payee). A held claim approved before its hold gives back its
        share of its cap and budget; one still in a disbursement batch answers 409 naming the
        batch."""
        return _out(await service.reject(request.user, claim_id, data.reason))

    @post("/approvals", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def approve_many(self, data: JSONBody[ApprovalsIn], request: AnyRequest) -> BulkOut:
        """Approves many claims, each on its own (officers): the answer says per claim whether it
        was approved or refused and why."""
        return _bulk(await service.approve_many(request.user, data.claim_ids))

    @post("/rejections", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def reject_many(self, data: JSONBody[RejectionsIn], request: AnyRequest) -> BulkOut:
        """Rejects many claims with one reason, each on its own (officers): the answer says per
        claim whether it was rejected or refused and why."""
        return _bulk(await service.reject_many(request.user, data.claim_ids, data.reason))


class BudgetController(Controller):
    path = "/api/v1/budgets"
    tags = ["claims"]

    @get("/", guards=[STAFF])
    async def list_budgets(self, scheme: QueryText = None, year: QueryYear = None) -> BudgetList:
        """Lists yearly subsidy budgets by scheme or year, with what is committed and left
        (staff)."""
        rows = await budgets.list_budgets(scheme, year)
        return BudgetList(items=[msgspec.convert(r, BudgetOut) for r in rows])

    @get("/{scheme:str}/{year:int}", guards=[STAFF])
    async def get_budget(self, scheme: SchemeName, year: Year) -> BudgetOut:
        """Returns one scheme's budget for a year, with what is committed and left (staff)."""
        return msgspec.convert(await budgets.get_budget(scheme, year), BudgetOut)

    @put("/{scheme:str}/{year:int}", guards=[FINANCE], status_code=HTTP_200_OK)
    async def set_budget(
        self, scheme: SchemeName, year: Year, data: JSONBody[BudgetIn], request: AnyRequest
    ) -> BudgetOut:
        """Creates or changes a scheme's budget for a year; below what approvals have committed
        answers 409 (finance, admins)."""
        row = await budgets.set_budget(request.user, scheme, year, data.amount_fen)
        return msgspec.convert(row, BudgetOut)
