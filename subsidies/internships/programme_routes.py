"""Registered internship programmes over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.pagination import MAX_ID, check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, QueryYear, RecordId
from subsidies.internships import placement_mapping, programmes
from subsidies.internships import programme_rules as prules

AnyRequest = Request[Principal, Any, Any]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Year = Annotated[int, msgspec.Meta(ge=prules.YEAR_MIN, le=prules.YEAR_MAX)]
Fen = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
Months = Annotated[int, msgspec.Meta(ge=1, le=24)]

OFFICERS = allow(StaffRole.OFFICER, StaffRole.ADMIN)
STAFF = allow(*StaffRole)


class ProgrammeIn(Input):
    name: Name  # e.g. "百校千人-2026"
    plan_year: Year
    start_date: date
    end_date: date
    # Left out: the internship policy version's in force on start_date (never above it).
    monthly_rate_fen: Fen | None = None
    max_months: Months | None = None
    cap_per_intern_fen: Fen | None = None


class ProgrammeOut(Output):
    id: int
    name: str
    plan_year: int
    scheme: str
    monthly_rate_fen: int
    max_months: int
    cap_per_intern_fen: int
    start_date: date
    end_date: date
    needs_review: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class ProgrammePage(Output):
    items: list[ProgrammeOut]
    next_cursor: str | None


class UnmappedPlacementOut(Output):
    id: int
    host_organisation_id: int
    person_id: int
    programme_text: str  # the name the host typed
    start_date: date
    end_date: date


class UnmappedPage(Output):
    items: list[UnmappedPlacementOut]
    next_cursor: str | None


class MappingIn(Input):
    programme_id: Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]


class MappingOut(Output):
    placement_id: int
    programme_id: int
    cap_key: str
    claims_moved: list[int]  # the placement's claims, now under the programme's cap key
    committed_moved_fen: int  # what their approvals took, moved onto the programme's cap
    held_or_flagged: list[int]  # claims past the cap or months: held, or flagged if paid
    calculation_job_id: int | None  # the months not approved yet, calculated again


def _fields(data: ProgrammeIn) -> prules.ProgrammeFields:
    return prules.ProgrammeFields(
        name=data.name,
        plan_year=data.plan_year,
        start_date=data.start_date,
        end_date=data.end_date,
        monthly_rate_fen=data.monthly_rate_fen,
        max_months=data.max_months,
        cap_per_intern_fen=data.cap_per_intern_fen,
    )


class ProgrammeController(Controller):
    path = "/api/v1/internship-programmes"
    tags = ["internships"]

    @post("/", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def register(self, data: JSONBody[ProgrammeIn], request: AnyRequest) -> ProgrammeOut:
        """Registers an internship programme (officers, admins): name, plan year, dates, and
        the rate, months and cap (the policy version's in force, or lower)."""
        row = await programmes.create(request.user, _fields(data))
        return msgspec.convert(row, ProgrammeOut)

    @get("/", guards=[anyone_signed_in])
    async def list_programmes(
        self,
        needs_review: Annotated[
            str | None, QueryParameter(max_length=5, pattern="^(true|false)$")
        ] = None,
        plan_year: QueryYear = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ProgrammePage:
        """Lists registered internship programmes (anyone signed in: hosts choose one);
        `needs_review=true`: those the migration made from hosts' names, for an officer."""
        rows = await programmes.list_all(
            needs_review=None if needs_review is None else needs_review == "true",
            plan_year=plan_year,
            after_id=decode_cursor(cursor),
            limit=check_limit(limit),
        )
        return ProgrammePage(
            items=[msgspec.convert(r, ProgrammeOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/unmapped-placements", guards=[STAFF])
    async def unmapped(
        self, request: AnyRequest, cursor: Cursor = None, limit: Limit = 50
    ) -> UnmappedPage:
        """Lists placements whose free-text programme the migration could not map to a
        registered one (staff); their months pay nothing."""
        rows = await programmes.unmapped_placements(
            request.user, after_id=decode_cursor(cursor), limit=check_limit(limit)
        )
        return UnmappedPage(
            items=[msgspec.convert(r, UnmappedPlacementOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @post(
        "/unmapped-placements/{placement_id:int}/mapping",
        guards=[OFFICERS],
        status_code=HTTP_200_OK,
    )
    async def map_placement(
        self, placement_id: RecordId, data: JSONBody[MappingIn], request: AnyRequest
    ) -> MappingOut:
        """Maps a placement the migration could not map to a registered programme (officers,
        admins): its claims, the amounts approved and the months count towards the
        programme's cap and months; claims past them go on hold (flagged if paid)."""
        done = await placement_mapping.map_placement(request.user, placement_id, data.programme_id)
        return msgspec.convert(done, MappingOut)

    @get("/{programme_id:int}", guards=[anyone_signed_in])
    async def get_one(self, programme_id: RecordId) -> ProgrammeOut:
        """Returns one internship programme (anyone signed in)."""
        return msgspec.convert(await programmes.get(programme_id), ProgrammeOut)

    @put("/{programme_id:int}", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def update(
        self, programme_id: RecordId, data: JSONBody[ProgrammeIn], request: AnyRequest
    ) -> ProgrammeOut:
        """Changes an internship programme (officers, admins); its placements must stay within
        its dates, and months already calculated keep their amounts."""
        row = await programmes.update(request.user, programme_id, _fields(data))
        return msgspec.convert(row, ProgrammeOut)

    @post("/{programme_id:int}/review", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def review(self, programme_id: RecordId, request: AnyRequest) -> ProgrammeOut:
        """Confirms a programme the migration made from hosts' names (officers, admins)."""
        return msgspec.convert(await programmes.confirm(request.user, programme_id), ProgrammeOut)
