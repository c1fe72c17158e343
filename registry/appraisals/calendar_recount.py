"""Notice end dates recounted when an admin replaces a year of the holiday calendar.

A notice, and an extension a dismissed objection gave, stores its end date counted on
the schedule of its day. A live one (not ended on today's Beijing date) whose span
touches the replaced year keeps its number of working days on the new schedule: the
notice from its start, an extension from the first day it counted (the day after
its decision; its number of working days is what it counted on the old schedule).
An application on notice ends on the later of the two. Ended notices and decided
applications are history and keep their dates."""

from __future__ import annotations

from datetime import date

from audit.log import record
from calendar_days.replacements import MovedDate, YearReplaced
from calendar_days.working_days import CalendarNotCovered
from kernel.clock import utcnow
from kernel.errors import Conflict
from registry.appraisals import clock, rules
from registry.appraisals.tables import TalentApplication, TalentNotice, TalentObjection
from registry.organisations import for_update

ON_NOTICE = (rules.IN_NOTICE, rules.OBJECTED)
ACTION = "appraisal.notice_end_recounted"


def touches(first: date, last: date, year: int) -> bool:
    return first.year <= year <= last.year


async def recount(event: YearReplaced) -> list[MovedDate]:
    today = clock.today()
    moved = await _notices(event, today)
    extended, applications = await _extensions(event, today)
    notices = [m.object_id for m in moved]
    if notices:
        rows = await TalentApplication.select(TalentApplication.id).where(
            TalentApplication.notice.is_in(notices)
        )
        applications |= {r["id"] for r in rows}
    return [*moved, *extended, *await _applications(event, today, applications)]


def _refused(error: CalendarNotCovered, notice_id: int, year: int) -> Conflict:
    return Conflict(
        f"notice {notice_id} is live and its end, recounted on the new {year} schedule, "
        f"reaches {error.year}: {error}",
        field="notice_id",
        notice_id=notice_id,
        year=error.year,
    )


async def _moved(
    event: YearReplaced, table: str, row_id: int, field: str, old: date, new: date, notice: int
) -> MovedDate:
    await record(
        event.actor,
        ACTION,
        table,
        row_id,
        before={field: old.isoformat()},
        after={field: new.isoformat(), "notice_id": notice, "calendar_year": event.year},
    )
    return MovedDate(table, row_id, field, old, new)


async def _notices(event: YearReplaced, today: date) -> list[MovedDate]:
    rows = await for_update(
        TalentNotice.select(
            TalentNotice.id, TalentNotice.starts_on, TalentNotice.ends_on, TalentNotice.working_days
        ).where(
            (TalentNotice.ends_on >= max(today, date(event.year, 1, 1)))
            & (TalentNotice.starts_on <= date(event.year, 12, 31))
        )
    ).run()
    moved = []
    for n in rows:
        try:
            ends_on = event.after.add_working_days(n["starts_on"], n["working_days"])
        except CalendarNotCovered as error:
            raise _refused(error, n["id"], event.year) from None
        if ends_on != n["ends_on"]:
            await TalentNotice.update({TalentNotice.ends_on: ends_on}).where(
                TalentNotice.id == n["id"]
            )
            moved.append(
                await _moved(
                    event, "talent_notice", n["id"], "ends_on", n["ends_on"], ends_on, n["id"]
                )
            )
    return moved


async def _extensions(event: YearReplaced, today: date) -> tuple[list[MovedDate], set[int]]:
    """The extensions moved, and the applications they belong to."""
    rows = await for_update(
        TalentObjection.select(
            TalentObjection.id,
            TalentObjection.application,
            TalentObjection.extended_from,
            TalentObjection.extended_to,
        ).where((TalentObjection.status == "dismissed") & (TalentObjection.extended_to >= today))
    ).run()
    rows = [
        o
        for o in rows
        if o["extended_from"] <= o["extended_to"]
        and touches(o["extended_from"], o["extended_to"], event.year)
    ]
    if not rows:
        return [], set()
    live = await TalentApplication.select(TalentApplication.id, TalentApplication.notice).where(
        TalentApplication.id.is_in([o["application"] for o in rows])
        & TalentApplication.status.is_in(ON_NOTICE)
    )
    notice_of = {a["id"]: a["notice"] for a in live}
    moved, applications = [], set()
    for o in rows:
        if o["application"] not in notice_of:
            continue  # decided: history
        first, notice = o["extended_from"], notice_of[o["application"]]
        try:
            days = event.before.count_working_days(first, o["extended_to"])
            extended_to = event.after.add_working_days(first, days)
        except CalendarNotCovered as error:
            raise _refused(error, notice, event.year) from None
        if extended_to != o["extended_to"]:
            await TalentObjection.update({TalentObjection.extended_to: extended_to}).where(
                TalentObjection.id == o["id"]
            )
            moved.append(
                await _moved(
                    event,
                    "talent_objection",
                    o["id"],
                    "extended_to",
                    o["extended_to"],
                    extended_to,
                    notice,
                )
            )
            applications.add(o["application"])
    return moved, applications


async def _applications(event: YearReplaced, today: date, ids: set[int]) -> list[MovedDate]:
    """Applications on notice end on the later of their notice's end and extensions'."""
    if not ids:
        return []
    rows = await for_update(
        TalentApplication.select(
            TalentApplication.id, TalentApplication.notice, TalentApplication.notice_ends_on
        ).where(
            TalentApplication.id.is_in(sorted(ids))
            & TalentApplication.status.is_in(ON_NOTICE)
            & (TalentApplication.notice_ends_on >= today)
        )
    ).run()
    if not rows:
        return []
    notice_ends = {
        n["id"]: n["ends_on"]
        for n in await TalentNotice.select(TalentNotice.id, TalentNotice.ends_on).where(
            TalentNotice.id.is_in(sorted({a["notice"] for a in rows}))
        )
    }
    moved = []
    for a in rows:
        extensions = await TalentObjection.select(TalentObjection.extended_to).where(
            (TalentObjection.application == a["id"])
            & (TalentObjection.status == "dismissed")
            & TalentObjection.extended_to.is_not_null()
        )
        ends_on = max([notice_ends[a["notice"]], *(e["extended_to"] for e in extensions)])
        if ends_on != a["notice_ends_on"]:
            await TalentApplication.update(
                {TalentApplication.notice_ends_on: ends_on, TalentApplication.updated_at: utcnow()}
            ).where(TalentApplication.id == a["id"])
            moved.append(
                await _moved(
                    event,
                    "talent_application",
                    a["id"],
                    "notice_ends_on",
                    a["notice_ends_on"],
                    ends_on,
                    a["notice"],
                )
            )
    return moved
