"""Searching certificates, people and training outcomes: filters (parsed by pure
functions), the queries they build, pages, export batches and the statistics rows.

Visibility: staff see every record. An organisation sees the certificates it issued,
the outcomes it reported and the people linked to it by either; its scope is added to
every query, so filtering by another organisation's id simply finds nothing.

Town of a certificate or an outcome: the holder's home town when the registry knows it,
else the town of the issuer (certificates) or of the training institution (outcomes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from piccolo.columns import Column as TableColumn
from piccolo.columns.combination import Combinable, WhereRaw
from piccolo.query.functions.aggregate import Min
from piccolo.table import Table

from accounts.principal import Principal
from audit.log import record
from kernel import labels
from kernel.clock import CHINA
from kernel.errors import FieldError, InvalidInput
from registry import occupations
from registry.exports import Column
from registry.levels import Level, parse_level
from registry.tables import Certificate, Person, TrainingOutcome
from registry.towns import TOWNS
from registry.visibility import shown_id

MAX_ID = 2**31 - 1
BATCH_ROWS = 5000
STATUSES = ("valid", "revoked")
HUKOU = ("local", "non_local", "unknown")
# Query parameters of lists and exports that are not filters.
NON_FILTER_PARAMS = frozenset({"cursor", "limit", "format"})
_TRUE = {"true", "1", "yes", "是"}
_FALSE = {"false", "0", "no", "否"}


# -- filters (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFilters:
    level: int | None = None  # exactly this level
    occupation: str | None = None
    town: str | None = None
    organisation: int | None = None  # issuer
    issued_from: date | None = None
    issued_to: date | None = None
    status: str | None = None
    person: int | None = None


@dataclass(frozen=True)
class PersonFilters:
    town: str | None = None  # home town
    hukou: str | None = None
    level: int | None = None  # highest valid level at least this good (number <= level)
    occupation: str | None = None  # a valid certificate or a training outcome in it
    organisation: int | None = None  # issued them a certificate or reported an outcome
    created_from: date | None = None  # registered on or after (Beijing date)
    created_to: date | None = None


@dataclass(frozen=True)
class OutcomeFilters:
    organisation: int | None = None  # reporting institution
    occupation: str | None = None
    town: str | None = None
    passed: bool | None = None
    late: bool | None = None
    end_from: date | None = None
    end_to: date | None = None
    person: int | None = None


def filter_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


class _Reader:
    """Reads query values one field at a time, keeping every problem."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self.raw = {k: v.strip() for k, v in raw.items() if v is not None and v.strip() != ""}
        self.errors: list[FieldError] = []

    def _fail(self, name: str, reason: str) -> None:
        self.errors.append(FieldError(name, reason))

    def level(self, name: str) -> int | None:
        if name not in self.raw:
            return None
        level = parse_level(self.raw[name])
        if level is None:
            self._fail(name, "must be a skill level 1-5 (1 senior technician ... 5 junior worker)")
        return level

    def town(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and value not in TOWNS:
            self._fail(name, "must be one of Dongguan's 33 towns, streets and parks")
            return None
        return value

    def occupation(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and not occupations.is_code(value):
            self._fail(name, occupations.CODE_REASON)
            return None
        return value

    def choice(self, name: str, options: Sequence[str]) -> str | None:
        value = self.raw.get(name)
        if value is not None and value not in options:
            self._fail(name, f"must be one of {', '.join(options)}")
            return None
        return value

    def record_id(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            self._fail(name, f"must be a record id between 1 and {MAX_ID}")
            return None
        return int(value)

    def flag(self, name: str) -> bool | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self._fail(name, "must be true or false")
        return None

    def day(self, name: str) -> date | None:
        value = self.raw.get(name)
        if value is None:
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self._fail(name, "must be a date YYYY-MM-DD")
            return None

    def period(self, start: str, end: str) -> tuple[date | None, date | None]:
        first, last = self.day(start), self.day(end)
        if first and last and last < first:
            self._fail(end, f"must not be before {start}")
        return first, last

    def unknown(self, names: Iterable[str], known: Sequence[str]) -> None:
        for name in sorted(set(names) - set(known) - NON_FILTER_PARAMS):
            self._fail(name, f"unknown filter; filters are {', '.join(known)}")

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def certificate_filters(
    raw: Mapping[str, str | None], given: Iterable[str] = ()
) -> CertificateFilters:
    """`given`: every query parameter name the caller sent (unknown ones are errors)."""
    r = _Reader(raw)
    r.unknown(given, filter_names(CertificateFilters))
    issued_from, issued_to = r.period("issued_from", "issued_to")
    filters = CertificateFilters(
        level=r.level("level"),
        occupation=r.occupation("occupation"),
        town=r.town("town"),
        organisation=r.record_id("organisation"),
        issued_from=issued_from,
        issued_to=issued_to,
        status=r.choice("status", STATUSES),
        person=r.record_id("person"),
    )
    r.done()
    return filters


def person_filters(raw: Mapping[str, str | None], given: Iterable[str] = ()) -> PersonFilters:
    r = _Reader(raw)
    r.unknown(given, filter_names(PersonFilters))
    created_from, created_to = r.period("created_from", "created_to")
    filters = PersonFilters(
        town=r.town("town"),
        hukou=r.choice("hukou", HUKOU),
        level=r.level("level"),
        occupation=r.occupation("occupation"),
        organisation=r.record_id("organisation"),
        created_from=created_from,
        created_to=created_to,
    )
    r.done()
    return filters


def outcome_filters(raw: Mapping[str, str | None], given: Iterable[str] = ()) -> OutcomeFilters:
    r = _Reader(raw)
    r.unknown(given, filter_names(OutcomeFilters))
    end_from, end_to = r.period("end_from", "end_to")
    filters = OutcomeFilters(
        organisation=r.record_id("organisation"),
        occupation=r.occupation("occupation"),
        town=r.town("town"),
        passed=r.flag("passed"),
        late=r.flag("late"),
        end_from=end_from,
        end_to=end_to,
        person=r.record_id("person"),
    )
    r.done()
    return filters


def year_range(year_from: str | None, year_to: str | None) -> tuple[int | None, int | None]:
    errors: list[FieldError] = []
    years: list[int | None] = []
    for name, value in (("year_from", year_from), ("year_to", year_to)):
        text = (value or "").strip()
        if not text:
            years.append(None)
        elif text.isascii() and text.isdigit() and 1900 <= int(text) <= 2999:
            years.append(int(text))
        else:
            errors.append(FieldError(name, "must be a year such as 2023"))
            years.append(None)
    first, last = years
    if first is not None and last is not None and last < first:
        errors.append(FieldError("year_to", "must not be before year_from"))
    if errors:
        raise InvalidInput(errors)
    return first, last


def described(filters: Any) -> dict[str, Any]:
    """The filters that were set, as JSON-friendly values (for the audit log)."""
    return {
        k: v.isoformat() if isinstance(v, date) else v
        for k, v in asdict(filters).items()
        if v is not None
    }


# -- queries -------------------------------------------------------------------------


def _nothing_if_other_organisation(who: Principal, organisation: int | None) -> list[Combinable]:
    """An organisation asking for another organisation's records finds nothing (and
    learns nothing, not even about records shared with it)."""
    if who.is_staff or organisation is None or organisation == who.organisation_id:
        return []
    return [WhereRaw("1 = 0")]


def _town_is(person_town: TableColumn, org_town: TableColumn, town: str) -> Combinable:
    return (person_town == town) | (person_town.is_null() & (org_town == town))


def _certificate_where(who: Principal, f: CertificateFilters) -> list[Combinable]:
    where = _nothing_if_other_organisation(who, f.organisation)
    if not who.is_staff:
        where.append(Certificate.issuer == who.organisation_id)
    if f.level is not None:
        where.append(Certificate.level == f.level)
    if f.occupation:
        where.append(Certificate.occupation_code == f.occupation)
    if f.town:
        where.append(_town_is(Certificate.person.town, Certificate.issuer.town, f.town))
    if f.organisation is not None:
        where.append(Certificate.issuer == f.organisation)
    if f.issued_from:
        where.append(Certificate.issued_on >= f.issued_from)
    if f.issued_to:
        where.append(Certificate.issued_on <= f.issued_to)
    if f.status:
        where.append(Certificate.status == f.status)
    if f.person is not None:
        where.append(Certificate.person == f.person)
    return where


def _certificates_seen(who: Principal) -> Any:
    """Holders of the certificates `who` may see: an organisation learns a person's
    levels and occupations only from its own certificates and outcomes."""
    query = Certificate.select(Certificate.person)
    if not who.is_staff:
        query = query.where(Certificate.issuer == who.organisation_id)
    return query


def _outcomes_seen(who: Principal) -> Any:
    query = TrainingOutcome.select(TrainingOutcome.person)
    if not who.is_staff:
        query = query.where(TrainingOutcome.institution == who.organisation_id)
    return query


def _linked_to(org_id: int) -> Combinable:
    """People an organisation issued a certificate to or reported an outcome for."""
    return Person.id.is_in(
        Certificate.select(Certificate.person).where(Certificate.issuer == org_id)
    ) | Person.id.is_in(
        TrainingOutcome.select(TrainingOutcome.person).where(TrainingOutcome.institution == org_id)
    )


def _beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


def _person_where(who: Principal, f: PersonFilters) -> list[Combinable]:
    where = _nothing_if_other_organisation(who, f.organisation)
    if not who.is_staff:
        assert who.organisation_id is not None
        where.append(_linked_to(who.organisation_id))
    if f.town:
        where.append(Person.town == f.town)
    if f.hukou:
        where.append(Person.hukou == f.hukou)
    if f.level is not None:
        # With an occupation too, the level must be held in that occupation.
        held = _certificates_seen(who).where(
            Certificate.status == "valid", Certificate.level <= f.level
        )
        if f.occupation:
            held = held.where(Certificate.occupation_code == f.occupation)
        where.append(Person.id.is_in(held))
    if f.occupation:
        where.append(
            Person.id.is_in(
                _certificates_seen(who).where(
                    Certificate.status == "valid", Certificate.occupation_code == f.occupation
                )
            )
            | Person.id.is_in(
                _outcomes_seen(who).where(TrainingOutcome.occupation_code == f.occupation)
            )
        )
    if f.organisation is not None:
        where.append(_linked_to(f.organisation))
    if f.created_from:
        where.append(Person.created_at >= _beijing_midnight(f.created_from))
    if f.created_to:
        where.append(Person.created_at < _beijing_midnight(f.created_to + timedelta(days=1)))
    return where


def _outcome_where(who: Principal, f: OutcomeFilters) -> list[Combinable]:
    where = _nothing_if_other_organisation(who, f.organisation)
    if not who.is_staff:
        where.append(TrainingOutcome.institution == who.organisation_id)
    if f.organisation is not None:
        where.append(TrainingOutcome.institution == f.organisation)
    if f.occupation:
        where.append(TrainingOutcome.occupation_code == f.occupation)
    if f.town:
        where.append(
            _town_is(TrainingOutcome.person.town, TrainingOutcome.institution.town, f.town)
        )
    if f.passed is not None:
        where.append(TrainingOutcome.passed == f.passed)
    if f.late is not None:
        where.append(TrainingOutcome.late == f.late)
    if f.end_from:
        where.append(TrainingOutcome.end_date >= f.end_from)
    if f.end_to:
        where.append(TrainingOutcome.end_date <= f.end_to)
    if f.person is not None:
        where.append(TrainingOutcome.person == f.person)
    return where


# -- rows as shown ----------------------------------------------------------------------


def _level_names(level: int | None) -> dict[str, Any]:
    if level is None:
        return {"level_zh": None, "level_en": None}
    return {"level_zh": Level(level).zh, "level_en": Level(level).en}


async def _shape_certificates(who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "person_id": r["person"],
            "person_name": r["person_name"],
            "id_number": shown_id(who, r["id_number"]),
            "occupation_code": r["occupation_code"],
            "occupation_name": r["occupation_name"],
            "level": r["level"],
            **_level_names(r["level"]),
            "number": r["number"],
            "issuer_id": r["issuer"],
            "issuer_name": r["issuer_name"],
            "issued_on": r["issued_on"],
            "route": r["route"],
            "status": r["status"],
            "revoked_on": r["revoked_on"],
            "town": r["person_town"] or r["issuer_town"],
        }
        for r in rows
    ]


async def highest_levels(who: Principal, person_ids: list[int]) -> dict[int, int]:
    """Best (lowest-numbered) valid level of each person, over the certificates `who`
    may see: all of them for staff, its own for an organisation."""
    if not person_ids:
        return {}
    query = Certificate.select(Certificate.person, Min(Certificate.level, alias="best")).where(
        Certificate.person.is_in(person_ids), Certificate.status == "valid"
    )
    if not who.is_staff:
        query = query.where(Certificate.issuer == who.organisation_id)
    rows = await query.group_by(Certificate.person).run()
    return {r["person"]: r["best"] for r in rows}


async def _shape_people(who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best = await highest_levels(who, [r["id"] for r in rows])
    return [
        {
            "id": r["id"],
            "id_number": shown_id(who, r["id_number"]),
            "name": r["name"],
            "sex": r["sex"],
            "birth_date": r["birth_date"],
            "hukou": r["hukou"],
            "town": r["town"],
            "highest_level": best.get(r["id"]),
            **_level_names(best.get(r["id"])),
            "created_at": r["created_at"],
        }
        for r in rows
    ]


async def _shape_outcomes(who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "person_id": r["person"],
            "person_name": r["person_name"],
            "id_number": shown_id(who, r["id_number"]),
            "institution_id": r["institution"],
            "institution_name": r["institution_name"],
            "course": r["course"],
            "occupation_code": r["occupation_code"],
            "occupation_name": r["occupation_name"],
            "hours": r["hours"],
            "start_date": r["start_date"],
            "end_date": r["end_date"],
            "passed": r["passed"],
            "late": r["late"],
            "certificate_id": r["certificate"],
            "certificate_number": r["certificate_number"],
            "town": r["person_town"] or r["institution_town"],
            "reported_at": r["reported_at"],
        }
        for r in rows
    ]


@dataclass(frozen=True)
class Kind:
    """One searchable record type: its table, columns, filters and export columns."""

    name: str  # audit object type
    plural: str  # file and sheet names
    table: type[Table]
    columns: tuple[Any, ...]
    where: Callable[[Principal, Any], list[Combinable]]
    shape: Callable[[Principal, list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]
    export_columns: tuple[Column, ...]


_ID = Column("id_number", "身份证号", "resident ID")
_LEVEL = (
    Column("level_zh", "等级", "level"),
    Column("level", "等级代码", "level code", "int", 8),
)

CERTIFICATES = Kind(
    name="certificate",
    plural="certificates",
    table=Certificate,
    columns=(
        Certificate.id,
        Certificate.person,
        Certificate.person.name.as_alias("person_name"),
        Certificate.person.id_number.as_alias("id_number"),
        Certificate.person.town.as_alias("person_town"),
        Certificate.occupation_code,
        Certificate.occupation_name,
        Certificate.level,
        Certificate.number,
        Certificate.issuer,
        Certificate.issuer.name.as_alias("issuer_name"),
        Certificate.issuer.town.as_alias("issuer_town"),
        Certificate.issued_on,
        Certificate.route,
        Certificate.status,
        Certificate.revoked_on,
    ),
    where=_certificate_where,
    shape=_shape_certificates,
    export_columns=(
        Column("id", "证书记录号", "record id", "int"),
        Column("number", "证书编号", "certificate number", width=22),
        Column("person_name", "姓名", "name"),
        _ID,
        Column("occupation_code", "职业编码", "occupation code"),
        Column("occupation_name", "职业名称", "occupation"),
        *_LEVEL,
        Column("issuer_id", "发证机构编号", "issuer id", "int"),
        Column("issuer_name", "发证机构", "issuer", width=30),
        Column("issued_on", "发证日期", "issue date", "date"),
        Column("route", "评价途径", "route", width=16, labels=labels.CERTIFICATE_ROUTE),
        Column("route", "评价途径代码", "route code", width=30),
        Column("status", "状态", "status", labels=labels.CERTIFICATE_STATUS),
        Column("status", "状态代码", "status code"),
        Column("revoked_on", "撤销日期", "revocation date", "date"),
        Column("town", "镇街", "town"),
    ),
)

PEOPLE = Kind(
    name="person",
    plural="people",
    table=Person,
    columns=(
        Person.id,
        Person.id_number,
        Person.name,
        Person.sex,
        Person.birth_date,
        Person.hukou,
        Person.town,
        Person.created_at,
    ),
    where=_person_where,
    shape=_shape_people,
    export_columns=(
        Column("id", "人员记录号", "record id", "int"),
        Column("name", "姓名", "name"),
        _ID,
        Column("sex", "性别", "sex", labels=labels.SEX),
        Column("birth_date", "出生日期", "birth date", "date"),
        Column("hukou", "户籍", "hukou", labels=labels.HUKOU),
        Column("town", "镇街", "town"),
        Column("level_zh", "最高等级", "highest level"),
        Column("highest_level", "最高等级代码", "highest level code", "int"),
        Column("created_at", "登记时间(北京时间)", "registered at (Beijing time)", "datetime", 20),
    ),
)

OUTCOMES = Kind(
    name="training_outcome",
    plural="outcomes",
    table=TrainingOutcome,
    columns=(
        TrainingOutcome.id,
        TrainingOutcome.person,
        TrainingOutcome.person.name.as_alias("person_name"),
        TrainingOutcome.person.id_number.as_alias("id_number"),
        TrainingOutcome.person.town.as_alias("person_town"),
        TrainingOutcome.institution,
        TrainingOutcome.institution.name.as_alias("institution_name"),
        TrainingOutcome.institution.town.as_alias("institution_town"),
        TrainingOutcome.course,
        TrainingOutcome.occupation_code,
        TrainingOutcome.occupation_name,
        TrainingOutcome.hours,
        TrainingOutcome.start_date,
        TrainingOutcome.end_date,
        TrainingOutcome.passed,
        TrainingOutcome.late,
        TrainingOutcome.certificate,
        TrainingOutcome.certificate.number.as_alias("certificate_number"),
        TrainingOutcome.reported_at,
    ),
    where=_outcome_where,
    shape=_shape_outcomes,
    export_columns=(
        Column("id", "培训记录号", "record id", "int"),
        Column("person_name", "姓名", "name"),
        _ID,
        Column("institution_id", "培训机构编号", "institution id", "int"),
        Column("institution_name", "培训机构", "institution", width=30),
        Column("course", "课程", "course", width=30),
        Column("occupation_code", "职业编码", "occupation code"),
        Column("occupation_name", "职业名称", "occupation"),
        Column("hours", "学时", "hours", "int"),
        Column("start_date", "开始日期", "start date", "date"),
        Column("end_date", "结束日期", "end date", "date"),
        Column("passed", "是否合格", "passed", "bool"),
        Column("late", "逾期报送", "reported late", "bool"),
        Column("certificate_number", "证书编号", "certificate number", width=22),
        Column("town", "镇街", "town"),
        Column("reported_at", "报送时间(北京时间)", "reported at (Beijing time)", "datetime", 20),
    ),
)


def _query(kind: Kind, who: Principal, filters: Any, after_id: int | None) -> Any:
    pk = kind.table._meta.primary_key
    query = kind.table.select(*kind.columns)
    for condition in kind.where(who, filters):
        query = query.where(condition)
    if after_id is not None:
        query = query.where(pk > after_id)
    return query.order_by(pk)


async def page(
    kind: Kind, who: Principal, filters: Any, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    rows = await _query(kind, who, filters, after_id).limit(limit).run()
    return await kind.shape(who, rows)


async def count(kind: Kind, who: Principal, filters: Any) -> int:
    query = kind.table.count()
    for condition in kind.where(who, filters):
        query = query.where(condition)
    return int(await query.run())


async def batches(
    kind: Kind, who: Principal, filters: Any, *, limit: int, batch_rows: int = BATCH_ROWS
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching row, a keyset batch at a time, up to `limit` rows."""
    after_id: int | None = None
    left = limit
    while left > 0:
        rows = await _query(kind, who, filters, after_id).limit(min(batch_rows, left)).run()
        if not rows:
            return
        after_id = rows[-1]["id"]
        left -= len(rows)
        yield await kind.shape(who, rows)
        if len(rows) < batch_rows:
            return


async def start_export(kind: Kind, who: Principal, filters: Any, fmt: str, max_rows: int) -> int:
    """Counts the rows, refuses more than `max_rows`, and records the export (it carries
    personal data) before any row leaves. Returns the number of rows."""
    rows = await count(kind, who, filters)
    if rows > max_rows:
        raise InvalidInput.single(
            "filters",
            f"{rows} rows match and an export holds at most {max_rows}: narrow the filters",
        )
    await record(
        who.actor,
        "export",
        kind.name,
        "search",
        after={"filters": described(filters), "format": fmt, "rows": rows},
    )
    return rows


# -- statistics --------------------------------------------------------------------------


async def skills_rows(
    year_from: int | None, year_to: int | None, batch_rows: int = 50_000
) -> pd.DataFrame:
    """Valid certificates as (person_id, town, level, year), only the columns needed,
    fetched in keyset batches; the town rule is the one of the lists."""
    wanted = (
        Certificate.id,
        Certificate.person,
        Certificate.level,
        Certificate.issued_on,
        Certificate.person.town.as_alias("person_town"),
        Certificate.issuer.town.as_alias("issuer_town"),
    )

    def query(after_id: int) -> Any:
        # Piccolo's query methods change the query they are called on: build each anew.
        q = Certificate.select(*wanted).where(
            Certificate.status == "valid", Certificate.id > after_id
        )
        if year_from is not None:
            q = q.where(Certificate.issued_on >= date(year_from, 1, 1))
        if year_to is not None:
            q = q.where(Certificate.issued_on < date(year_to + 1, 1, 1))
        return q.order_by(Certificate.id).limit(batch_rows)

    frames: list[pd.DataFrame] = []
    after_id = 0
    while True:
        rows = await query(after_id).run()
        if not rows:
            break
        after_id = rows[-1]["id"]
        frames.append(
            pd.DataFrame(
                {
                    "person_id": [r["person"] for r in rows],
                    "town": [r["person_town"] or r["issuer_town"] for r in rows],
                    "level": [r["level"] for r in rows],
                    "year": [r["issued_on"].year for r in rows],
                }
            )
        )
        if len(rows) < batch_rows:
            break
    if not frames:
        return pd.DataFrame({"person_id": [], "town": [], "level": [], "year": []})
    return pd.concat(frames, ignore_index=True)
