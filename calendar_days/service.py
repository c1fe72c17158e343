"""The calendar in the database: loading the years an operation counts in (a year is
about 40 rows, so each operation loads what it needs and no process holds a stale copy),
an admin's entry of a year's schedule, and the warning that next year's is missing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Count

from accounts.principal import Principal
from audit.log import record
from calendar_days import replacements, schedule_file, warnings
from calendar_days.schedule import Entry, Where, check_entries, check_source
from calendar_days.tables import CalendarDay, CalendarYear
from calendar_days.working_days import (
    HOLIDAY,
    WORKING_DAY,
    Calendar,
    CalendarNotCovered,
    years_for,
)
from kernel import clock, sandbox
from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from kernel.file_limits import FileLimits

_YEAR = (
    CalendarYear.year,
    CalendarYear.source,
    CalendarYear.entered_by,
    CalendarYear.entered_at,
)


async def load(years: Iterable[int]) -> Calendar:
    """The schedules of `years` that are complete; a year without one stays uncovered."""
    wanted = sorted(set(years))
    complete = await CalendarYear.select(CalendarYear.year).where(CalendarYear.year.is_in(wanted))
    covered = frozenset(r["year"] for r in complete)
    if not covered:
        return Calendar()
    rows = await CalendarDay.select(CalendarDay.day, CalendarDay.kind, CalendarDay.name).where(
        CalendarDay.year.is_in(sorted(covered))
    )
    holidays = {r["day"]: r["name"] for r in rows if r["kind"] == HOLIDAY}
    working = {r["day"]: r["name"] for r in rows if r["kind"] != HOLIDAY}
    return Calendar(holidays=holidays, working_days=working, years=covered)


async def hold(start: date, days: int) -> None:
    """Inside a unit of work that stores a period of `days` working days from `start`,
    before counting it: a replacement of one of its years (which locks the year and
    recounts what is stored) either commits first, and the period counts on its
    schedule, or waits for this commit, and recounts the period. SQLite's unit of work
    already holds the only write lock."""
    if not is_sqlite(engine()):
        await (
            CalendarYear.select(CalendarYear.id)
            .where(CalendarYear.year.is_in(list(years_for(start, days))))
            .lock_rows("SHARE")
        )


async def for_period(start: date, days: int) -> Calendar:
    """The calendar a period of `days` working days from `start` is counted on (held
    against a replacement until commit, see `hold`)."""
    await hold(start, days)
    return await load(years_for(start, days))


def refused(error: CalendarNotCovered, field: str) -> Conflict:
    """409 naming the year and how to enter it."""
    return Conflict(str(error), field=field, year=error.year)


async def period_end(start: date, days: int, field: str) -> date:
    """The last of `days` working days from `start`; 409 on `field` past the calendar."""
    try:
        return (await for_period(start, days)).add_working_days(start, days)
    except CalendarNotCovered as error:
        raise refused(error, field) from None


async def working_days_after(day: date, days: int, field: str) -> date:
    """The `days`-th working day after `day`; 409 on `field` past the calendar."""
    try:
        return (await for_period(day, days + 1)).working_days_after(day, days)
    except CalendarNotCovered as error:
        raise refused(error, field) from None


async def plan(start: date, days: int) -> dict[str, Any]:
    """A period of `days` working days from `start`: its first and last working day and
    the holidays and adjusted working days it crosses (for an officer planning one)."""
    try:
        calendar = await for_period(start, days)
        first = calendar.add_working_days(start, 1)
        end = calendar.add_working_days(start, days)
    except CalendarNotCovered as error:
        raise refused(error, "start") from None
    crossed = [
        {"date": d.day, "kind": d.kind, "name": d.name} for d in calendar.named_days(start, end)
    ]
    return {"start": start, "days": days, "first_day": first, "end": end, "crossed": crossed}


async def current_warnings() -> list[str]:
    """Next year's schedule missing from 1 November (Beijing date)."""
    day = clock.local_date(clock.utcnow())
    if day.month < warnings.WARN_FROM_MONTH:
        return []
    covered = await CalendarYear.select(CalendarYear.year).where(CalendarYear.year == day.year + 1)
    return warnings.missing_next_year(day, [r["year"] for r in covered])


async def list_years() -> list[dict[str, Any]]:
    years = await CalendarYear.select(*_YEAR).order_by(CalendarYear.year)
    counts = await CalendarDay.select(
        CalendarDay.year, CalendarDay.kind, Count(alias="days")
    ).group_by(CalendarDay.year, CalendarDay.kind)
    by_kind = {(c["year"], c["kind"]): c["days"] for c in counts}
    for row in years:
        row["holidays"] = by_kind.get((row["year"], HOLIDAY), 0)
        row["working_days"] = by_kind.get((row["year"], WORKING_DAY), 0)
    return years


async def year_view(year: int) -> dict[str, Any]:
    row = await CalendarYear.select(*_YEAR).where(CalendarYear.year == year).first()
    if row is None:
        raise NotFound(f"no holiday schedule has been entered for {year}", field="year")
    row["days"] = await _days(year)
    return row


async def _days(year: int) -> list[dict[str, Any]]:
    return (
        await CalendarDay.select(
            CalendarDay.day.as_alias("date"), CalendarDay.kind, CalendarDay.name
        )
        .where(CalendarDay.year == year)
        .order_by(CalendarDay.day)
    )


def _locked(query: Any) -> Any:
    """Held until commit on PostgreSQL; a unit of work on SQLite holds the only write lock."""
    return query if is_sqlite(engine()) else query.lock_rows()


def _summary(source: str | None, days: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the audit entry keeps of a schedule: its source and every date."""
    return {
        "source": source,
        "days": [f"{d['date']} {d['kind']} {d['name']}" for d in days],
    }


async def replace_year(
    actor: Principal,
    year: int,
    source: str,
    entries: Sequence[Entry],
    where: Where,
    problems: Sequence[FieldError] = (),
) -> dict[str, Any]:
    """Enters or replaces a year's schedule as a whole; any problem (`problems`: those
    found reading a file) refuses all of it. A replacement has the dates other domains
    counted on the old schedule recounted (`moved`), or is refused by them."""
    errors = [*problems, *check_source(source), *check_entries(year, entries, where)]
    if errors:
        raise InvalidInput(errors)
    source = source.strip()
    rows = [
        CalendarDay(day=e.day, year=year, kind=e.kind, name=e.name.strip(), source=source)
        for e in sorted(entries, key=lambda e: e.day or date.min)
    ]
    async with unit_of_work():
        inserted = (
            await CalendarYear.insert(
                CalendarYear(
                    year=year, source=source, entered_by=actor.actor, entered_at=clock.utcnow()
                )
            )
            .on_conflict(target=CalendarYear.year, action="DO NOTHING")
            .returning(CalendarYear.id)
        )
        before = None
        old_schedule: Calendar | None = None
        if not inserted:
            previous = (
                await _locked(CalendarYear.select(*_YEAR).where(CalendarYear.year == year))
                .first()
                .run()
            )
            assert previous is not None
            before = {
                **_summary(previous["source"], await _days(year)),
                "entered_by": previous["entered_by"],
            }
            old_schedule = await load(_neighbourhood(year))
            await CalendarYear.update(
                {
                    CalendarYear.source: source,
                    CalendarYear.entered_by: actor.actor,
                    CalendarYear.entered_at: clock.utcnow(),
                }
            ).where(CalendarYear.year == year)
            await CalendarDay.delete().where(CalendarDay.year == year)
        await CalendarDay.insert(*rows)
        after = _summary(
            source, [{"date": r.day.isoformat(), "kind": r.kind, "name": r.name} for r in rows]
        )
        moved: list[dict[str, Any]] = []
        if old_schedule is not None:  # nothing is counted on a year before it is entered
            event = replacements.YearReplaced(
                year, actor.actor, old_schedule, await load(_neighbourhood(year))
            )
            moved = [m.as_dict() for m in await replacements.notify(event)]
            after["moved"] = moved
        await record(
            actor.actor,
            "calendar.year_replaced" if before else "calendar.year_entered",
            "calendar_year",
            year,
            before=before,
            after=after,
        )
    return {**await year_view(year), "moved": moved}


def _neighbourhood(year: int) -> range:
    """The years a stored period touching `year` is counted in."""
    return range(year - 1, year + 2)


async def replace_from_file(
    actor: Principal, year: int, source: str, data: bytes
) -> dict[str, Any]:
    """A year's schedule from a CSV or XLSX file, read in a limited child process."""
    try:
        numbered, problems = await sandbox.run_async(
            schedule_file.read, data, FileLimits.from_env()
        )
    except sandbox.UnreadableFile as exc:
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    rows = [row for row, _ in numbered]
    return await replace_year(
        actor,
        year,
        source,
        [entry for _, entry in numbered],
        lambda i, column: f"row {rows[i]}, column {column}",
        problems,
    )
