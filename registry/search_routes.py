"""Search lists, their CSV/XLSX exports, and skills statistics.

The list and export routes are bare handlers, not a Controller: GET /api/v1/people and
the single-record routes' POST /api/v1/people share one path, and Litestar 2 refuses two
Controllers on one path (each brings its own OPTIONS handler). A bare handler joins an
existing path, so app.factory registers SEARCH_ROUTES after the controllers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Stream

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from app.settings import Settings
from kernel.clock import CHINA, utcnow
from kernel.errors import FieldError, InvalidInput
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Output
from kernel.web_params import PRINTABLE, Cursor, Limit, QueryText
from registry import exports, search, statistics
from registry.exports import Column, Sheet
from registry.levels import Level
from registry.search import CertificateFilters, OutcomeFilters, PersonFilters

Who = Request[Principal, Any, Any]
Format = Annotated[
    str,
    QueryParameter(name="format", max_length=8, pattern=PRINTABLE, description="csv or xlsx"),
]
FORMATS = ("csv", "xlsx")
Q = QueryText


# -- filters from the query string ---------------------------------------------------
# Declared parameter by parameter so that they appear in the OpenAPI document.


async def certificate_filters(
    request: Who,
    level: Q = None,
    occupation: Q = None,
    town: Q = None,
    organisation: Q = None,
    issued_from: Q = None,
    issued_to: Q = None,
    status: Q = None,
    person: Q = None,
) -> CertificateFilters:
    values = dict(locals())
    values.pop("request")
    return search.certificate_filters(values, request.query_params.keys())


async def person_filters(
    request: Who,
    town: Q = None,
    hukou: Q = None,
    level: Q = None,
    occupation: Q = None,
    organisation: Q = None,
    created_from: Q = None,
    created_to: Q = None,
) -> PersonFilters:
    values = dict(locals())
    values.pop("request")
    return search.person_filters(values, request.query_params.keys())


async def outcome_filters(
    request: Who,
    organisation: Q = None,
    occupation: Q = None,
    town: Q = None,
    passed: Q = None,
    late: Q = None,
    end_from: Q = None,
    end_to: Q = None,
    person: Q = None,
) -> OutcomeFilters:
    values = dict(locals())
    values.pop("request")
    return search.outcome_filters(values, request.query_params.keys())


# -- bodies ---------------------------------------------------------------------------


class CertificateItem(Output):
    id: int
    person_id: int
    person_name: str
    id_number: str  # masked unless the caller is an officer or admin
    occupation_code: str
    occupation_name: str
    level: int
    level_zh: str
    level_en: str
    number: str
    issuer_id: int
    issuer_name: str
    issued_on: date
    route: str
    status: str
    revoked_on: date | None
    town: str | None


class CertificatePage(Output):
    items: list[CertificateItem]
    next_cursor: str | None


class PersonItem(Output):
    id: int
    id_number: str
    name: str
    sex: str
    birth_date: date
    hukou: str
    town: str | None
    highest_level: int | None  # best valid level held, in any occupation
    level_zh: str | None
    level_en: str | None
    created_at: datetime


class PersonPage(Output):
    items: list[PersonItem]
    next_cursor: str | None


class OutcomeItem(Output):
    id: int
    person_id: int
    person_name: str
    id_number: str
    institution_id: int
    institution_name: str
    course: str
    occupation_code: str
    occupation_name: str
    hours: int
    start_date: date
    end_date: date
    passed: bool
    late: bool
    certificate_id: int | None
    certificate_number: str | None
    town: str | None
    reported_at: datetime


class OutcomePage(Output):
    items: list[OutcomeItem]
    next_cursor: str | None


# -- lists ----------------------------------------------------------------------------


@get(
    "/api/v1/certificates",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(certificate_filters)},
    tags=["search"],
)
async def list_certificates(
    request: Who,
    filters: NamedDependency[CertificateFilters],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CertificatePage:
    """Searches certificates: staff see all, an organisation those it issued. Filters: level,
    occupation, town, issuer, issue dates, status, holder."""
    rows = await search.page(
        search.CERTIFICATES, request.user, filters, decode_cursor(cursor), check_limit(limit)
    )
    return CertificatePage(
        items=[CertificateItem(**r) for r in rows],
        next_cursor=next_cursor([r["id"] for r in rows], limit),
    )


@get(
    "/api/v1/people",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(person_filters)},
    tags=["search"],
)
async def list_people(
    request: Who,
    filters: NamedDependency[PersonFilters],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> PersonPage:
    """Searches people: staff see all, an organisation the people linked to it. Filters: town,
    hukou, level, occupation, linked organisation, registration dates."""
    rows = await search.page(
        search.PEOPLE, request.user, filters, decode_cursor(cursor), check_limit(limit)
    )
    return PersonPage(
        items=[PersonItem(**r) for r in rows],
        next_cursor=next_cursor([r["id"] for r in rows], limit),
    )


@get(
    "/api/v1/outcomes",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(outcome_filters)},
    tags=["search"],
)
async def list_outcomes(
    request: Who,
    filters: NamedDependency[OutcomeFilters],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> OutcomePage:
    """Searches training outcomes: staff see all, an institution those it reported. Filters:
    institution, occupation, town, passed, late, course end dates, person."""
    rows = await search.page(
        search.OUTCOMES, request.user, filters, decode_cursor(cursor), check_limit(limit)
    )
    return OutcomePage(
        items=[OutcomeItem(**r) for r in rows],
        next_cursor=next_cursor([r["id"] for r in rows], limit),
    )


# -- exports --------------------------------------------------------------------------


def _format(value: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if value not in allowed:
        raise InvalidInput.single("format", f"must be one of {', '.join(allowed)}")
    return value


def _stamp() -> str:
    return utcnow().astimezone(CHINA).strftime("%Y%m%d-%H%M%S")


async def _export(request: Who, kind: search.Kind, filters: Any, fmt: str) -> Stream:
    fmt = _format(fmt)
    settings: Settings = request.app.state.settings
    max_rows = settings.export_max_rows
    if fmt == "xlsx":
        max_rows = min(max_rows, exports.XLSX_MAX_ROWS)
    who = request.user
    await search.start_export(kind, who, filters, fmt, max_rows)
    filename = f"{kind.plural}-{_stamp()}.{fmt}"
    rows = search.batches(kind, who, filters, limit=max_rows)
    if fmt == "csv":
        return exports.csv_download(kind.export_columns, rows, filename)
    path = exports.temp_path(".xlsx", settings.data_dir / "tmp")
    try:
        await exports.write_xlsx(path, [Sheet(kind.plural, kind.export_columns, rows)])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return exports.file_download(path, filename)


@get(
    "/api/v1/certificates/export",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(certificate_filters)},
    tags=["search"],
)
async def export_certificates(
    request: Who, filters: NamedDependency[CertificateFilters], fmt: Format = "csv"
) -> Stream:
    """Exports the certificates a search finds as a CSV or XLSX file."""
    return await _export(request, search.CERTIFICATES, filters, fmt)


@get(
    "/api/v1/people/export",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(person_filters)},
    tags=["search"],
)
async def export_people(
    request: Who, filters: NamedDependency[PersonFilters], fmt: Format = "csv"
) -> Stream:
    """Exports the people a search finds as a CSV or XLSX file."""
    return await _export(request, search.PEOPLE, filters, fmt)


@get(
    "/api/v1/outcomes/export",
    guards=[anyone_signed_in],
    dependencies={"filters": Provide(outcome_filters)},
    tags=["search"],
)
async def export_outcomes(
    request: Who, filters: NamedDependency[OutcomeFilters], fmt: Format = "csv"
) -> Stream:
    """Exports the training outcomes a search finds as a CSV or XLSX file."""
    return await _export(request, search.OUTCOMES, filters, fmt)


SEARCH_ROUTES = [
    list_certificates,
    export_certificates,
    list_people,
    export_people,
    list_outcomes,
    export_outcomes,
]


# -- statistics -------------------------------------------------------------------------


class TownLevelYearRow(Output):
    town: str
    year: int
    level: int
    level_zh: str
    certificates: int
    people: int


class Counts(Output):
    certificates: int
    people: int  # distinct holders: not the sum of the rows it sums up
    high_skilled_certificates: int  # level 3 (senior worker) or better
    high_skilled_share: float | None  # percentage, one decimal, rounded half up


class TownYearRow(Counts):
    town: str
    year: int


class YearRow(Counts):
    year: int


class SkillsStatistics(Output):
    year_from: int | None
    year_to: int | None
    by_town_level_year: list[TownLevelYearRow]
    by_town_year: list[TownYearRow]
    by_year: list[YearRow]  # the whole city
    total: Counts


_COUNT_COLUMNS = (
    Column("certificates", "证书数", "certificates", "int"),
    Column("people", "人数", "people", "int"),
    Column("high_skilled_certificates", "高技能证书数", "high-skilled certificates", "int"),
    Column("high_skilled_share", "高技能占比(%)", "high-skilled share (%)", "float"),
)
_TOWN = Column("town", "镇街", "town")
_YEAR = Column("year", "年份", "year", "int")
STATISTICS_SHEETS = (
    (
        "镇街×等级×年份 town-level-year",
        (
            _TOWN,
            _YEAR,
            Column("level_zh", "等级", "level"),
            Column("level", "等级代码", "level code", "int"),
            *_COUNT_COLUMNS[:2],
        ),
    ),
    ("镇街×年份 town-year", (_TOWN, _YEAR, *_COUNT_COLUMNS)),
    ("全市 city", (Column("year", "年份", "year", "int"), *_COUNT_COLUMNS)),
)
TOTAL_LABEL = "合计 total"


def _statistics_body(
    tables: statistics.SkillsTables, year_from: int | None, year_to: int | None
) -> SkillsStatistics:
    detail = [
        {**r, "level_zh": Level(r["level"]).zh}
        for r in statistics.records(tables.by_town_level_year)
    ]
    return SkillsStatistics(
        year_from=year_from,
        year_to=year_to,
        by_town_level_year=[TownLevelYearRow(**r) for r in detail],
        by_town_year=[TownYearRow(**r) for r in statistics.records(tables.by_town_year)],
        by_year=[YearRow(**r) for r in statistics.records(tables.by_year)],
        total=Counts(**tables.total),
    )


class StatisticsController(Controller):
    path = "/api/v1/statistics"
    tags = ["statistics"]
    guards = [allow(*StaffRole)]

    @get("/skills")
    async def skills(
        self,
        request: Who,
        year_from: QueryText = None,
        year_to: QueryText = None,
        fmt: Annotated[
            str,
            QueryParameter(
                name="format", max_length=8, pattern=PRINTABLE, description="json or xlsx"
            ),
        ] = "json",
    ) -> Response[SkillsStatistics]:
        # format=xlsx answers a Stream instead; the annotation documents the JSON.
        """Counts certificates and their holders by town, level and year of issue (staff), as JSON
        or an XLSX workbook."""
        errors = [
            FieldError(name, "unknown parameter; parameters are year_from, year_to, format")
            for name in sorted(set(request.query_params) - {"year_from", "year_to", "format"})
        ]
        if errors:
            raise InvalidInput(errors)
        fmt = _format(fmt, ("json", "xlsx"))
        first, last = search.year_range(year_from, year_to)
        tables = statistics.skills(await search.skills_rows(first, last))
        body = _statistics_body(tables, first, last)
        if fmt == "json":
            return Response(body)
        return await _statistics_file(request, body, first, last)  # type: ignore[return-value]


async def _statistics_file(
    request: Who, body: SkillsStatistics, first: int | None, last: int | None
) -> Stream:
    from msgspec.structs import asdict

    total = {**asdict(body.total), "year": TOTAL_LABEL}
    rows = (
        [asdict(r) for r in body.by_town_level_year],
        [asdict(r) for r in body.by_town_year],
        [*(asdict(r) for r in body.by_year), total],
    )
    sheets = [
        Sheet(name, columns, data)
        for (name, columns), data in zip(STATISTICS_SHEETS, rows, strict=True)
    ]
    settings: Settings = request.app.state.settings
    path = exports.temp_path(".xlsx", settings.data_dir / "tmp")
    try:
        await exports.write_xlsx(path, sheets)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    years = f"{first or 'all'}-{last or 'all'}"
    return exports.file_download(path, f"skills-statistics-{years}-{_stamp()}.xlsx")
