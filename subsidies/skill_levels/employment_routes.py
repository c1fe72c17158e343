"""`/api/v1/employments`: enterprises report who they employ (officers on their behalf).
A person's employments are listed with `?person_id=` (the /people paths belong to the
registry's PersonController)."""

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, QueryId, RecordId
from subsidies.skill_levels import employment

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]

REPORTERS = allow(StaffRole.OFFICER, StaffRole.ADMIN, organisations=(OrgType.ENTERPRISE,))
READERS = allow(*StaffRole, organisations=(OrgType.ENTERPRISE,))


class EmploymentIn(Input):
    started_on: date
    insured: bool
    # Exactly one of the two: the registry's id, or the resident ID number.
    person_id: Id | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    # Officers name the enterprise; an enterprise reports for itself.
    employer_id: Id | None = None


class EndIn(Input):
    ended_on: date


class EmploymentOut(Output):
    id: int
    person_id: int
    person_name: str
    employer_id: int
    employer_name: str
    started_on: date
    ended_on: date | None
    insured: bool
    reported_by: str
    created_at: datetime


class EmploymentPage(Output):
    items: list[EmploymentOut]
    next_cursor: str | None


def _out(row: dict[str, Any]) -> EmploymentOut:
    return msgspec.convert(row, EmploymentOut, strict=False)


class EmploymentController(Controller):
    path = "/api/v1/employments"
    tags = ["employment"]

    @post("/", guards=[REPORTERS], status_code=HTTP_201_CREATED)
    async def report(self, data: JSONBody[EmploymentIn], request: AnyRequest) -> EmploymentOut:
        """Reports that a person started work at an enterprise, and whether insured there (an
        enterprise for its employees; officers, admins)."""
        new = employment.NewEmployment(
            started_on=data.started_on,
            insured=data.insured,
            person_id=data.person_id,
            id_number=data.id_number,
            employer_id=data.employer_id,
        )
        return _out(await employment.report(request.user, new))

    @get("/", guards=[READERS])
    async def list_employments(
        self,
        request: AnyRequest,
        person_id: QueryId = None,
        employer_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> EmploymentPage:
        """Lists employment records by person or employer: all for staff, its own employees' for an
        enterprise."""
        rows = await employment.list_visible(
            request.user,
            person_id=person_id,
            employer_id=employer_id,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return EmploymentPage(
            items=[_out(r) for r in rows], next_cursor=next_cursor([r["id"] for r in rows], limit)
        )

    @get("/{employment_id:int}", guards=[READERS])
    async def get_one(self, employment_id: RecordId, request: AnyRequest) -> EmploymentOut:
        """Returns one employment record: any for staff, its own for an enterprise."""
        return _out(await employment.get(request.user, employment_id))

    @post("/{employment_id:int}/end", guards=[REPORTERS], status_code=HTTP_200_OK)
    async def end(
        self, employment_id: RecordId, data: JSONBody[EndIn], request: AnyRequest
    ) -> EmploymentOut:
        """Records the date an employment ended (the enterprise; officers, admins)."""
        return _out(await employment.end(request.user, employment_id, data.ended_on))
