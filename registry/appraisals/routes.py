"""Leading-talent appraisal routes. Applicants (enterprises, technical schools) apply;
officers run rounds, reviews, shortlists, notices and decisions; the public reads the
current notice and lodges objections (no login)."""

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from app.auth import PUBLIC_OPT
from app.public_pages import html
from kernel.errors import DomainError, FieldError, InvalidInput, NotFound
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, QueryId, QueryText, QueryYear, RecordId
from registry.appraisals import applications, awards, notice_page, notices, rounds, rules

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
# Query numbers are bounded before they reach PostgreSQL's integer columns.
Year = Annotated[int, msgspec.Meta(ge=rules.YEAR_MIN, le=rules.YEAR_MAX)]
Short = Annotated[str, msgspec.Meta(max_length=400)]
Long = Annotated[str, msgspec.Meta(max_length=rules.TEXT_MAX + 1000)]

OFFICERS = allow(StaffRole.OFFICER)
STAFF = allow(*StaffRole)
APPLICANTS = allow(organisations=rules.APPLICANT_TYPES)
READERS = allow(*StaffRole, organisations=rules.APPLICANT_TYPES)
# Lodging is public and pauses an application: per client address, per process, enough
# for a person objecting by hand, too few to keep applications paused by script.
OBJECTION_RATE_LIMIT = RateLimitConfig(rate_limit=("minute", 5), store="objection_rate_limit")
OVERSEERS = allow(StaffRole.OFFICER, StaffRole.ADMIN, StaffRole.AUDITOR)


# -- input -----------------------------------------------------------------------------


class PoolIn(Input):
    name: Short
    first_year: int
    last_year: int
    total: int


class RoundIn(Input):
    year: Year
    title: Short
    opens_on: date
    closes_on: date
    quota: int | None = None  # the round's own cap; None: only the pool's
    pool_id: Id | None = None  # None: the one pool covering the year


class MedalIn(Input):
    competition: Short
    year: int
    medal: Short


class EvidenceIn(Input):
    frontline_years: int
    achievements: Long
    patents: list[Short] = []
    awards: list[Short] = []
    apprentices_trained: int = 0


class ApplicationIn(Input):
    round_id: Id
    person_id: Id
    route: Short
    occupation_code: Short
    occupation_name: Short
    medal: MedalIn | None = None
    evidence: EvidenceIn | None = None


class ReviewIn(Input):
    min_reviewers: int | None = None


class ShortlistIn(Input):
    places: int


class NoticeIn(Input):
    starts_on: date


class ReasonIn(Input):
    reason: Long


class ObjectionIn(Input):
    application_id: Id
    contact_name: Short
    contact: Short
    reason: Long


class ResolutionIn(Input):
    outcome: Short
    reason: Long


# -- output ----------------------------------------------------------------------------


class PoolOut(Output):
    id: int
    name: str
    first_year: int
    last_year: int
    total: int
    used: int
    pending: int
    remaining: int
    available_for_shortlist: int


class RoundOut(Output):
    id: int
    pool_id: int
    year: int
    title: str
    opens_on: date
    closes_on: date
    quota: int | None
    approved: int
    pending: int
    remaining: int | None
    available_for_shortlist: int
    pool: PoolOut
    created_by: str
    created_at: datetime


class MedalOut(Output):
    competition: str
    year: int
    medal: str


class EvidenceOut(Output):
    frontline_years: int
    achievements: str
    patents: list[str]
    awards: list[str]
    apprentices_trained: int


class AwardBrief(Output):
    id: int
    number: str
    status: str
    awarded_on: date


class ApplicationOut(Output):
    id: int
    round_id: int
    person_id: int
    person_name: str
    person_id_number: str  # masked unless the caller sees whole ID numbers
    applicant_organisation_id: int
    applicant_name: str
    route: str
    occupation_code: str
    occupation_name: str
    status: str
    level_basis: str
    medal: MedalOut | None
    evidence: EvidenceOut | None
    review_case_id: int | None
    review_status: str | None
    final_score: str | None
    shortlisted_by: str | None
    shortlisted_at: datetime | None
    shortlist_rank: int | None
    notice_id: int | None
    notice_starts_on: date | None
    notice_ends_on: date | None
    open_objections: int
    decided_by: str | None
    decided_at: datetime | None
    rejected_reason: str | None
    applied_by: str
    applied_at: datetime
    award: AwardBrief | None


class ApplicationPage(Output):
    items: list[ApplicationOut]
    next_cursor: str | None


class StandingOut(Output):
    application_id: int
    route: str
    medal: str | None
    final_score: str | None
    achievements_score: str | None
    applied_at: datetime
    rank: int | None  # None: below the pass mark
    eligible: bool


class ShortlistOut(Output):
    round: RoundOut
    shortlisted: list[ApplicationOut]


class NoticeEntryOut(Output):
    application_id: int
    notice_id: int
    name: str
    id_number: str  # always masked: the notice is public
    organisation: str
    route: str
    occupation_code: str
    occupation_name: str
    medal: str | None
    notice_starts_on: date
    notice_ends_on: date
    paused: bool  # an objection is being looked into


class NoticeOut(Output):
    id: int
    round_id: int
    starts_on: date
    ends_on: date
    working_days: int
    published_by: str
    published_at: datetime
    entries: list[NoticeEntryOut]
    warnings: list[str]  # e.g. next year's holiday schedule is not entered yet


class CurrentNoticeOut(Output):
    today: date
    entries: list[NoticeEntryOut]


class ObjectionReceiptOut(Output):
    id: int
    application_id: int
    status: str
    lodged_at: datetime


class ObjectionOut(Output):
    id: int
    application_id: int
    contact_name: str
    contact: str
    reason: str
    status: str
    lodged_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None
    extended_to: date | None


class ObjectionPage(Output):
    items: list[ObjectionOut]
    next_cursor: str | None


class AwardClaimOut(Output):
    id: int
    scheme: str
    status: str
    basis_date: date
    amount_fen: int | None
    dedupe_key: str
    hold_reason: str | None
    recovery_reason: str | None


class AwardListItemOut(Output):
    id: int
    application_id: int
    applicant_organisation_id: int
    route: str
    person_id: int
    person_name: str
    number: str
    awarded_on: date
    status: str
    approved_by: str
    revoked_on: date | None
    revoked_reason: str | None


class AwardOut(AwardListItemOut):
    """One award, with who revoked it and the claims it created."""

    revoked_by: str | None
    claims: list[AwardClaimOut]


class AwardPage(Output):
    items: list[AwardListItemOut]
    next_cursor: str | None


def _app(row: dict[str, Any]) -> ApplicationOut:
    return msgspec.convert(row, ApplicationOut, strict=False)


def _round(row: dict[str, Any]) -> RoundOut:
    return msgspec.convert(row, RoundOut, strict=False)


class AppraisalController(Controller):
    path = "/api/v1/appraisals"
    tags = ["leading-talent appraisals"]

    # -- quota pools and rounds --

    @post("/pools", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def create_pool(self, data: JSONBody[PoolIn], request: AnyRequest) -> PoolOut:
        """Creates a leading-talent quota pool covering a span of years (officers)."""
        row = await rounds.create_pool(
            request.user, data.name, data.first_year, data.last_year, data.total
        )
        return msgspec.convert(row, PoolOut)

    @get("/pools", guards=[READERS])
    async def list_pools(self) -> list[PoolOut]:
        """Lists the leading-talent quota pools with what is left of each (staff, applicant
        organisations)."""
        return [msgspec.convert(r, PoolOut) for r in await rounds.list_pools()]

    @post("/rounds", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def create_round(self, data: JSONBody[RoundIn], request: AnyRequest) -> RoundOut:
        """Opens a leading-talent appraisal round drawing on a quota pool (officers)."""
        row = await rounds.create_round(
            request.user,
            year=data.year,
            title=data.title,
            opens_on=data.opens_on,
            closes_on=data.closes_on,
            quota=data.quota,
            pool_id=data.pool_id,
        )
        return _round(row)

    @get("/rounds", guards=[READERS])
    async def list_rounds(self, year: QueryYear = None) -> list[RoundOut]:
        """Lists appraisal rounds with their quota and what is left (staff, applicant
        organisations); `?year=` picks one year."""
        return [_round(r) for r in await rounds.list_rounds(year)]

    @get("/rounds/{round_id:int}", guards=[READERS])
    async def get_round(self, round_id: RecordId) -> RoundOut:
        """Returns one appraisal round with what is left of its quota and its pool's (staff,
        applicant organisations)."""
        return _round(await rounds.round_view(round_id))

    @get("/rounds/{round_id:int}/ranking", guards=[OVERSEERS])
    async def ranking(self, round_id: RecordId) -> list[StandingOut]:
        """Ranks a round's candidates in shortlist order: medallists, then reviewed candidates at or
        above the pass mark by final score (officers, admins, auditors)."""
        return [msgspec.convert(r, StandingOut) for r in await applications.ranking(round_id)]

    @post("/rounds/{round_id:int}/shortlist", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def shortlist(
        self, round_id: RecordId, data: JSONBody[ShortlistIn], request: AnyRequest
    ) -> ShortlistOut:
        """Shortlists a round's best candidates for a number of places (officers), within what is
        left of the quota."""
        result = await applications.shortlist(request.user, round_id, data.places)
        return msgspec.convert(result, ShortlistOut, strict=False)

    @post("/rounds/{round_id:int}/notices", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def publish(
        self, round_id: RecordId, data: JSONBody[NoticeIn], request: AnyRequest
    ) -> NoticeOut:
        """Puts a round's shortlisted applications on public notice (officers) from a start date,
        for the policy's number of working days."""
        notice = await notices.publish(request.user, round_id, data.starts_on)
        return msgspec.convert(notice, NoticeOut, strict=False)

    # -- applications --

    @post("/applications", guards=[APPLICANTS], status_code=HTTP_201_CREATED)
    async def apply(self, data: JSONBody[ApplicationIn], request: AnyRequest) -> ApplicationOut:
        """Applies for a leading-talent appraisal for a person, by recognition (a medal) or by
        evaluation (evidence) (an enterprise for its employee, or a technical school)."""
        new = rules.NewApplication(
            round_id=data.round_id,
            person_id=data.person_id,
            route=data.route,
            occupation_code=data.occupation_code,
            occupation_name=data.occupation_name,
            medal=rules.Medal(data.medal.competition, data.medal.year, data.medal.medal)
            if data.medal
            else None,
            evidence=rules.Evidence(
                data.evidence.frontline_years,
                data.evidence.achievements,
                tuple(data.evidence.patents),
                tuple(data.evidence.awards),
                data.evidence.apprentices_trained,
            )
            if data.evidence
            else None,
        )
        return _app(await applications.apply(request.user, new))

    @get("/applications", guards=[READERS])
    async def list_applications(
        self,
        request: AnyRequest,
        round_id: QueryId = None,
        status: QueryText = None,
        route: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ApplicationPage:
        """Lists appraisal applications by round, status or route: all for staff, its own for an
        applicant organisation."""
        rows = await applications.list_visible(
            request.user,
            round_id=round_id,
            status=status,
            route=route,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return ApplicationPage(
            items=[_app(r) for r in rows], next_cursor=next_cursor([r["id"] for r in rows], limit)
        )

    @get("/applications/{application_id:int}", guards=[READERS])
    async def get_application(
        self, application_id: RecordId, request: AnyRequest
    ) -> ApplicationOut:
        """Returns one appraisal application: any for staff, its own for an applicant
        organisation."""
        return _app(await applications.get(request.user, application_id))

    @post("/applications/{application_id:int}/review", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def open_review(
        self, application_id: RecordId, data: JSONBody[ReviewIn], request: AnyRequest
    ) -> ApplicationOut:
        """Sends an evaluation application to expert review, opening its review case (officers)."""
        row = await applications.open_review(
            request.user,
            application_id,
            min_reviewers=data.min_reviewers,
            min_floor=request.app.state.settings.review_min_reviewers,
        )
        return _app(row)

    @post(
        "/applications/{application_id:int}/rejection",
        guards=[OFFICERS],
        status_code=HTTP_200_OK,
    )
    async def reject(
        self, application_id: RecordId, data: JSONBody[ReasonIn], request: AnyRequest
    ) -> ApplicationOut:
        """Rejects an appraisal application before approval, with a reason (officers)."""
        return _app(await applications.reject(request.user, application_id, data.reason))

    @post(
        "/applications/{application_id:int}/withdrawal",
        guards=[APPLICANTS],
        status_code=HTTP_200_OK,
    )
    async def withdraw(self, application_id: RecordId, request: AnyRequest) -> ApplicationOut:
        """Withdraws an appraisal application before the shortlist (the applicant organisation)."""
        return _app(await applications.withdraw(request.user, application_id))

    @post(
        "/applications/{application_id:int}/approval",
        guards=[OFFICERS],
        status_code=HTTP_200_OK,
    )
    async def approve(self, application_id: RecordId, request: AnyRequest) -> ApplicationOut:
        """Approves an application after its notice, making the award and its claims (officers); the
        notice must have ended with no objection open."""
        return _app(await awards.approve(request.user, application_id))

    # -- objections (officers' side) --

    @get("/objections", guards=[OVERSEERS])
    async def list_objections(
        self,
        application_id: QueryId = None,
        status: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ObjectionPage:
        """Lists objections lodged against applications on notice, by application or status
        (officers, admins, auditors)."""
        rows = await notices.list_objections(
            application_id, status, decode_cursor(cursor), check_limit(limit)
        )
        return ObjectionPage(
            items=[msgspec.convert(r, ObjectionOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @post("/objections/{objection_id:int}/resolution", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def resolve(
        self, objection_id: RecordId, data: JSONBody[ResolutionIn], request: AnyRequest
    ) -> ObjectionOut:
        """Resolves an objection: upheld rejects the application, dismissed puts it back on notice
        (officers)."""
        row = await notices.resolve(request.user, objection_id, data.outcome, data.reason)
        return msgspec.convert(row, ObjectionOut)

    # -- awards --

    @get("/awards", guards=[READERS])
    async def list_awards(
        self,
        request: AnyRequest,
        status: QueryText = None,
        round_id: QueryId = None,
        person_id: QueryId = None,
        awarded_from: FromQuery[date | None] = None,
        awarded_to: FromQuery[date | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> AwardPage:
        """Lists leading-talent awards in the order they were made: all for staff, its own for an
        applicant organisation. Filters: status (awaiting_certificate, certificate_issued, revoked),
        round, person, award dates."""
        rows = await awards.list_visible(
            request.user,
            status=status,
            round_id=round_id,
            person_id=person_id,
            awarded_from=awarded_from,
            awarded_to=awarded_to,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return AwardPage(
            items=[msgspec.convert(r, AwardListItemOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/awards/{award_id:int}", guards=[READERS])
    async def get_award(self, award_id: RecordId, request: AnyRequest) -> AwardOut:
        """Returns one leading-talent award with the claims it created: any for staff, its own for
        the applicant organisation."""
        return msgspec.convert(await awards.award_view(request.user, award_id), AwardOut)

    @post("/awards/{award_id:int}/revocation", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def revoke(
        self, award_id: RecordId, data: JSONBody[ReasonIn], request: AnyRequest
    ) -> AwardOut:
        """Revokes a leading-talent award with a reason: unpaid claims go on hold, paid ones are
        flagged for recovery (officers)."""
        row = await awards.revoke(request.user, award_id, data.reason)
        return msgspec.convert(row, AwardOut)


class NoticeController(Controller):
    """Public: no login. What is on notice today, and objections to it."""

    path = "/api/v1/notices"
    tags = ["leading-talent appraisals"]

    @get("/current", opt={PUBLIC_OPT: True})
    async def current(self) -> CurrentNoticeOut:
        """Shows what is on public notice today, ID numbers masked (anyone, no login)."""
        return msgspec.convert(await notices.current(), CurrentNoticeOut, strict=False)

    @post(
        "/objections",
        opt={PUBLIC_OPT: True},
        status_code=HTTP_201_CREATED,
        middleware=[OBJECTION_RATE_LIMIT.middleware],
    )
    async def lodge(self, data: JSONBody[ObjectionIn]) -> ObjectionReceiptOut:
        """Lodges an objection to an application on public notice (anyone, no login; rate limited),
        pausing it until an officer decides."""
        receipt = await notices.lodge(
            data.application_id, data.contact_name, data.contact, data.reason
        )
        return msgspec.convert(receipt, ObjectionReceiptOut)

    @get("/{notice_id:int}", guards=[READERS])
    async def get_notice(self, notice_id: RecordId) -> NoticeOut:
        """Returns one published notice with its entries (staff, applicant organisations)."""
        return msgspec.convert(await notices.notice_view(notice_id), NoticeOut, strict=False)


class NoticePageController(Controller):
    """Public pages, no login: the notice as a page with a form per entry to object
    (the same rules and rate limit as the API)."""

    path = "/notices"
    include_in_schema = False
    opt = {PUBLIC_OPT: True}

    @get("/", media_type=MediaType.HTML)
    async def notice_page(self) -> Response[str]:
        """Shows the current public notice as a page with a form per entry to object (anyone, no
        login)."""
        return html(notice_page.page(await notices.current()))

    @post("/objections", media_type=MediaType.HTML, middleware=[OBJECTION_RATE_LIMIT.middleware])
    async def object_by_form(self, request: Request[Any, Any, Any]) -> Response[str]:
        """Lodges an objection sent from the public notice page's form and answers with the page
        (anyone, no login; rate limited)."""
        form = await request.form()
        fields = {k: str(form.get(k) or "") for k in notice_page.LABELS}
        chosen = int(fields["application_id"]) if fields["application_id"].isdigit() else None
        receipt, errors, status = None, [], 201
        if chosen is None or chosen > MAX_ID:
            errors, status = [FieldError("application_id", "choose an entry on the notice")], 400
        else:
            try:
                receipt = await notices.lodge(
                    chosen, fields["contact_name"], fields["contact"], fields["reason"]
                )
            except InvalidInput as exc:
                errors, status = exc.errors, 400
            except DomainError as exc:  # not on notice (404), or no longer open (409)
                errors = [FieldError("application_id", exc.message)]
                status = 404 if isinstance(exc, NotFound) else 409
        page = notice_page.page(
            await notices.current(), receipt=receipt, errors=errors, chosen=chosen
        )
        return html(page, status)
