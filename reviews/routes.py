from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.errors import InvalidInput
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, QueryId, QueryText, RecordId, RequiredQueryText
from reviews import affiliations, cases

AnyRequest = Request[Principal, Any, Any]
Reason = Annotated[str, msgspec.Meta(max_length=cases.REASON_MAX + 100)]


class AssignIn(Input):
    reviewer_id: Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]


class ReasonIn(Input):
    reason: Reason


class ScoresIn(Input):
    """Whole numbers from 0 to 100 (checked together, so every bad one is reported)."""

    ethics: int
    knowledge: int
    ability: int
    achievements: int


class CriteriaOut(Output):
    ethics: int
    knowledge: int
    ability: int
    achievements: int


class ProgressOut(Output):
    pending: int
    submitted: int
    recused: int
    withdrawn: int


class AssignmentOut(Output):
    id: int
    reviewer_id: int | None  # hidden from fellow reviewers
    reviewer_name: str | None
    status: str
    assigned_at: datetime
    submitted_at: datetime | None
    scores: CriteriaOut | None  # sealed until the case is complete (except your own)
    total: str | None  # weighted total, exact to the hundredth
    counted: bool | None  # whether the final score counted it (5+ drop the extremes)
    reason: str | None
    ended_at: datetime | None


class CaseSummaryOut(Output):
    id: int
    subject_type: str
    subject_id: int
    applicant_organisation_id: int
    applied_at: datetime
    min_reviewers: int
    weights: CriteriaOut  # percent
    status: str
    final_score: str | None
    achievements_score: str | None
    progress: ProgressOut | None
    opened_by: str
    opened_at: datetime
    completed_at: datetime | None
    cancelled_reason: str | None


class CaseOut(CaseSummaryOut):
    scores_visible: bool
    assignments: list[AssignmentOut]


class CasePage(Output):
    items: list[CaseSummaryOut]
    next_cursor: str | None


class RankedCaseOut(CaseSummaryOut):
    rank: int


class RecusalOut(Output):
    case_id: int
    assignment_id: int
    status: str


class AffiliationIn(Input):
    organisation_id: Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
    relation: str
    since: date | None = None
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class AffiliationOut(Output):
    id: int
    staff_user_id: int
    organisation_id: int
    organisation_name: str
    relation: str
    since: date | None
    note: str | None
    recorded_by: str
    recorded_at: datetime


READERS = (StaffRole.REVIEWER, *cases.OVERSEERS)


class ReviewController(Controller):
    """Cases are opened by the subject's workflow (e.g. POST /api/v1/studios/{id}/review);
    here officers assign, reviewers score or step out, and everyone allowed reads."""

    path = "/api/v1/reviews"
    tags = ["expert review"]

    @get("/cases", guards=[allow(*READERS)])
    async def list_cases(
        self,
        request: AnyRequest,
        subject_type: QueryText = None,
        subject_id: QueryId = None,
        status: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> CasePage:
        """Lists expert review cases by subject or status: all for officers, admins and auditors, a
        reviewer's own assignments for a reviewer."""
        if subject_id is not None and not 0 < subject_id <= MAX_ID:
            raise InvalidInput.single("subject_id", "not a record id")
        rows = await cases.list_cases(
            request.user,
            subject_type=subject_type,
            subject_id=subject_id,
            status=status,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return CasePage(
            items=[msgspec.convert(r, CaseSummaryOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/cases/{case_id:int}", guards=[allow(*READERS)])
    async def get_case(self, case_id: RecordId, request: AnyRequest) -> CaseOut:
        """Returns one expert review case with its assignments; individual scores stay hidden until
        all are in."""
        return msgspec.convert(await cases.get_case(request.user, case_id), CaseOut)

    @post(
        "/cases/{case_id:int}/assignments",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_201_CREATED,
    )
    async def assign(
        self, case_id: RecordId, data: JSONBody[AssignIn], request: AnyRequest
    ) -> CaseOut:
        """Assigns a reviewer to a review case; reviewers affiliated with the applicant are refused
        (officers)."""
        return msgspec.convert(await cases.assign(request.user, case_id, data.reviewer_id), CaseOut)

    @post(
        "/cases/{case_id:int}/assignments/{assignment_id:int}/withdrawal",
        guards=[allow(StaffRole.OFFICER)],
        status_code=HTTP_200_OK,
    )
    async def withdraw(
        self,
        case_id: RecordId,
        assignment_id: RecordId,
        data: JSONBody[ReasonIn],
        request: AnyRequest,
    ) -> CaseOut:
        """Takes a reviewer who has not scored off a review case, with a reason (officers)."""
        view = await cases.withdraw(request.user, case_id, assignment_id, data.reason)
        return msgspec.convert(view, CaseOut)

    @post(
        "/cases/{case_id:int}/scores",
        guards=[allow(StaffRole.REVIEWER)],
        status_code=HTTP_201_CREATED,
    )
    async def submit_scores(
        self, case_id: RecordId, data: JSONBody[ScoresIn], request: AnyRequest
    ) -> CaseOut:
        """Submits the calling reviewer's scores on a case, once and unchangeable (reviewers)."""
        view = await cases.submit_scores(request.user, case_id, msgspec.structs.asdict(data))
        return msgspec.convert(view, CaseOut)

    @post(
        "/cases/{case_id:int}/recusal",
        guards=[allow(StaffRole.REVIEWER)],
        status_code=HTTP_200_OK,
    )
    async def recuse(
        self, case_id: RecordId, data: JSONBody[ReasonIn], request: AnyRequest
    ) -> RecusalOut:
        """Steps the calling reviewer out of a case before scoring: a declared conflict of interest
        (reviewers)."""
        return msgspec.convert(await cases.recuse(request.user, case_id, data.reason), RecusalOut)

    @get("/ranking", guards=[allow(*cases.OVERSEERS)])
    async def ranking(
        self, subject_type: RequiredQueryText, limit: Limit = 50
    ) -> list[RankedCaseOut]:
        """Ranks the complete review cases of one subject type, best first (officers, admins,
        auditors)."""
        rows = await cases.ranking(subject_type, limit=check_limit(limit))
        return [msgspec.convert(r, RankedCaseOut) for r in rows]


class AffiliationController(Controller):
    """Who a staff member works for or is linked to; reviewers are never assigned to
    those organisations' cases."""

    path = "/api/v1/staff/{user_id:int}/affiliations"
    tags = ["expert review"]
    guards = [allow(StaffRole.ADMIN, StaffRole.OFFICER)]

    @post("/", status_code=HTTP_201_CREATED)
    async def record(
        self, user_id: RecordId, data: JSONBody[AffiliationIn], request: AnyRequest
    ) -> AffiliationOut:
        """Records an organisation a staff member works for or is linked to (admins, officers): they
        are never assigned its review cases."""
        new = affiliations.NewAffiliation(**msgspec.structs.asdict(data))
        row = await affiliations.record_affiliation(request.user, user_id, new)
        return msgspec.convert(row, AffiliationOut)

    @get("/")
    async def list_affiliations(self, user_id: RecordId) -> list[AffiliationOut]:
        """Lists the organisations a staff member is affiliated with (admins, officers)."""
        return [msgspec.convert(r, AffiliationOut) for r in await affiliations.list_for(user_id)]
