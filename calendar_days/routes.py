"""The official holiday calendar: admins enter a year's schedule from the State
Council's notice (as JSON or as a file); staff read it and plan periods of working days
on it. Every answer carries the warning when next year's schedule is missing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from accounts.guards import allow
from accounts.principal import Principal
from accounts.roles import StaffRole
from calendar_days import service
from calendar_days.schedule import MAX_ENTRIES, SOURCE_MAX, Entry
from kernel.errors import InvalidInput
from kernel.schemas import Input, Output
from kernel.uploads import uploaded_file_chunks
from kernel.web_params import YEAR_MAX, YEAR_MIN, RequiredQueryText, UploadName

AnyRequest = Request[Principal, Any, Any]
ADMINS = allow(StaffRole.ADMIN)
STAFF = allow(*StaffRole)
MAX_FILE_BYTES = 256 << 10  # a year is about 40 short rows
MAX_PLAN_DAYS = 250  # about a year of working days

Year = Annotated[
    int,
    PathParameter(ge=YEAR_MIN, le=YEAR_MAX, description=f"a year, {YEAR_MIN} to {YEAR_MAX}"),
]
PlanDays = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_PLAN_DAYS, description=f"working days in the period, 1 to {MAX_PLAN_DAYS}"
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=SOURCE_MAX + 200)]


class DayIn(Input):
    day: dt.date = msgspec.field(name="date")
    kind: Text
    name: Text


class YearIn(Input):
    source: Text  # the State Council's notice, e.g. 国办发明电〔2025〕7号
    days: Annotated[list[DayIn], msgspec.Meta(max_length=MAX_ENTRIES)]


class DayOut(Output):
    date: dt.date
    kind: str
    name: str


class YearOut(Output):
    year: int
    source: str
    entered_by: str
    entered_at: dt.datetime
    days: list[DayOut]
    warnings: list[str]


class MovedDateOut(Output):
    object_type: str  # e.g. talent_notice
    object_id: int
    field: str  # e.g. ends_on
    before: dt.date
    after: dt.date


class YearEnteredOut(YearOut):
    moved: list[MovedDateOut]  # dates counted on the replaced schedule, recounted


class YearSummaryOut(Output):
    year: int
    source: str
    entered_by: str
    entered_at: dt.datetime
    holidays: int
    working_days: int


class YearListOut(Output):
    items: list[YearSummaryOut]
    warnings: list[str]


class WorkingDaysOut(Output):
    start: dt.date
    days: int
    first_day: dt.date
    end: dt.date
    crossed: list[DayOut]
    warnings: list[str]


Out = TypeVar("Out", YearOut, YearEnteredOut)


async def _year_out(row: dict[str, Any], out: type[Out]) -> Out:
    return msgspec.convert({**row, "warnings": await service.current_warnings()}, out, strict=False)


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ["holiday calendar"]

    @get("/years", guards=[STAFF])
    async def list_years(self) -> YearListOut:
        """Lists the years whose official holiday schedule is entered, with its source and
        how many holidays and adjusted working days it has (staff)."""
        items = [msgspec.convert(r, YearSummaryOut) for r in await service.list_years()]
        return YearListOut(items=items, warnings=await service.current_warnings())

    @get("/years/{year:int}", guards=[STAFF])
    async def get_year(self, year: Year) -> YearOut:
        """Returns a year's official holiday schedule: its holidays and adjusted working days
        (调休上班) with their names, its source and who entered it (staff)."""
        return await _year_out(await service.year_view(year), YearOut)

    @put("/years/{year:int}", guards=[ADMINS], status_code=HTTP_200_OK)
    async def put_year(
        self, year: Year, data: JSONBody[YearIn], request: AnyRequest
    ) -> YearEnteredOut:
        """Enters or replaces a year's official holiday schedule from the State Council's notice
        (admins): every holiday and adjusted working day with its name, and the notice as the
        source. Any problem refuses the whole schedule. Replacing a year recounts the live
        notices whose span touches it and lists the end dates that moved; one that would
        reach a year with no schedule refuses the replacement (409 naming it)."""
        entries = [Entry(d.day, d.kind, d.name) for d in data.days]
        row = await service.replace_year(
            request.user, year, data.source, entries, lambda i, column: f"days[{i}].{column}"
        )
        return await _year_out(row, YearEnteredOut)

    @post(
        "/years/{year:int}/file",
        guards=[ADMINS],
        status_code=HTTP_200_OK,
        request_max_body_size=None,  # the limit is checked while streaming
        description="Enters or replaces a year's official holiday schedule from a CSV or XLSX "
        "file (admins): columns date, kind (holiday or working_day; 放假 or 上班 too) and name "
        "(日期, 类型, 名称), the body with ?filename=2027.csv or multipart field `file`, and "
        "?source= naming the State Council's notice. Any problem refuses the whole file, "
        "each named by row and column. Replacing a year recounts live notices as PUT does.",
    )
    async def upload_year(
        self,
        year: Year,
        source: RequiredQueryText,
        request: AnyRequest,
        filename: UploadName = None,
    ) -> YearEnteredOut:
        chunks, _ = await uploaded_file_chunks(request, MAX_FILE_BYTES, filename)
        data = b"".join([chunk async for chunk in chunks])
        if not data.strip():
            raise InvalidInput.single("file", "the file is empty 文件为空")
        row = await service.replace_from_file(request.user, year, source, data)
        return await _year_out(row, YearEnteredOut)

    @get("/working-days", guards=[STAFF])
    async def working_days(self, start: FromQuery[dt.date], days: PlanDays) -> WorkingDaysOut:
        """Answers the last day of a period of `days` working days from `start` (past or future),
        with the holidays and adjusted working days it crosses, as notices count them (staff).
        A period reaching a year whose schedule is not entered answers 409 naming the year."""
        if not YEAR_MIN <= start.year <= YEAR_MAX:
            raise InvalidInput.single("start", f"must be a date from {YEAR_MIN} to {YEAR_MAX}")
        plan = await service.plan(start, days)
        return msgspec.convert(
            {**plan, "warnings": await service.current_warnings()}, WorkingDaysOut, strict=False
        )
