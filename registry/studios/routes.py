from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, QueryText, RecordId
from registry.studios import rules, service

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
Text = Annotated[str, msgspec.Meta(max_length=rules.PLAN_MAX + 1000)]


class MemberIn(Input):
    person_id: Id
    role: str


class StudioIn(Input):
    master_person_id: Id
    occupation_code: Annotated[str, msgspec.Meta(max_length=40)]
    occupation_name: Annotated[str, msgspec.Meta(max_length=200)]
    plan: Text
    members: list[MemberIn] = []
    # Only when an officer applies on a host's behalf; an organisation applies for itself.
    host_organisation_id: Id | None = None


class ReviewIn(Input):
    """Both optional: the configured minimum and the default weights (20/30/30/20)."""

    min_reviewers: int | None = None
    weights: dict[str, int] | None = None


class EstablishIn(Input):
    level: str
    established_on: date


class RejectIn(Input):
    reason: Text


class AssessmentIn(Input):
    year: int
    result: str
    notes: Text = ""


class RevokeIn(Input):
    reason: Text
    revoked_on: date


class MemberOut(Output):
    person_id: int
    name: str
    role: str


class AssessmentOut(Output):
    year: int
    result: str
    notes: str
    recorded_by: str
    recorded_at: datetime


class StudioSummaryOut(Output):
    id: int
    host_organisation_id: int
    host_name: str
    host_town: str
    master_person_id: int
    master_name: str
    occupation_code: str
    occupation_name: str
    status: str
    level: str | None
    established_on: date | None
    review_case_id: int | None
    applied_at: datetime


class StudioOut(StudioSummaryOut):
    master_id_number: str  # masked unless the caller sees whole ID numbers
    plan: str
    master_basis: str
    applied_by: str
    decided_by: str | None
    decided_at: datetime | None
    rejected_reason: str | None
    revoked_on: date | None
    revoked_reason: str | None
    revoked_by: str | None
    members: list[MemberOut]
    assessments: list[AssessmentOut]


class StudioPage(Output):
    items: list[StudioSummaryOut]
    next_cursor: str | None


HOSTS_AND_OFFICERS = allow(StaffRole.OFFICER, organisations=rules.HOST_TYPES)
OFFICERS = allow(StaffRole.OFFICER)


def _out(studio: dict[str, Any]) -> StudioOut:
    return msgspec.convert(studio, StudioOut)


class StudioController(Controller):
    path = "/api/v1/studios"
    tags = ["master studios"]

    @post("/", guards=[HOSTS_AND_OFFICERS], status_code=HTTP_201_CREATED)
    async def apply(self, data: JSONBody[StudioIn], request: AnyRequest) -> StudioOut:
        """Applies to set up a skills master studio (a host organisation, or an officer on its
        behalf) with its master, occupation, members and plan."""
        new = rules.NewStudio(
            master_person_id=data.master_person_id,
            occupation_code=data.occupation_code,
            occupation_name=data.occupation_name,
            plan=data.plan,
            members=tuple(rules.Member(m.person_id, m.role) for m in data.members),
        )
        return _out(await service.apply(request.user, data.host_organisation_id, new))

    @get("/", guards=[anyone_signed_in])
    async def list_studios(
        self,
        request: AnyRequest,
        status: QueryText = None,
        level: QueryText = None,
        town: QueryText = None,
        occupation: QueryText = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> StudioPage:
        """Lists master studios by status, level, town or occupation: all for staff, its own for a
        host organisation."""
        rows = await service.list_visible(
            request.user,
            status=status,
            level=level,
            town=town,
            occupation=occupation,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return StudioPage(
            items=[msgspec.convert(r, StudioSummaryOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/{studio_id:int}", guards=[anyone_signed_in])
    async def get_one(self, studio_id: RecordId, request: AnyRequest) -> StudioOut:
        """Returns one master studio with its members and yearly assessments: any for staff, its own
        for a host organisation."""
        return _out(await service.get(request.user, studio_id))

    @post("/{studio_id:int}/review", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def open_review(
        self, studio_id: RecordId, data: JSONBody[ReviewIn], request: AnyRequest
    ) -> StudioOut:
        """Sends a studio application to expert review, opening its review case (officers)."""
        studio = await service.open_review(
            request.user,
            studio_id,
            min_reviewers=data.min_reviewers,
            weights=data.weights,
            min_floor=request.app.state.settings.review_min_reviewers,
        )
        return _out(studio)

    @post("/{studio_id:int}/establishment", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def establish(
        self, studio_id: RecordId, data: JSONBody[EstablishIn], request: AnyRequest
    ) -> StudioOut:
        """Establishes a studio at city, province or national level (officers): after a complete
        review, never by one of its reviewers."""
        return _out(
            await service.establish(request.user, studio_id, data.level, data.established_on)
        )

    @post("/{studio_id:int}/rejection", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def reject(
        self, studio_id: RecordId, data: JSONBody[RejectIn], request: AnyRequest
    ) -> StudioOut:
        """Rejects a studio application with a reason (officers)."""
        return _out(await service.reject(request.user, studio_id, data.reason))

    @post("/{studio_id:int}/assessments", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def assess(
        self, studio_id: RecordId, data: JSONBody[AssessmentIn], request: AnyRequest
    ) -> StudioOut:
        """Records a studio's yearly assessment, pass or fail with notes; a fail does not revoke it
        by itself (officers)."""
        return _out(
            await service.assess(request.user, studio_id, data.year, data.result, data.notes)
        )

    @post("/{studio_id:int}/revocation", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def revoke(
        self, studio_id: RecordId, data: JSONBody[RevokeIn], request: AnyRequest
    ) -> StudioOut:
        """Revokes an established studio with a reason and date (officers)."""
        return _out(await service.revoke(request.user, studio_id, data.reason, data.revoked_on))
