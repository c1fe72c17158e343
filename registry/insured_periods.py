"""Insured periods: a person's months of Dongguan pension insurance as recorded on a day
(registry.insured_months), entered by an officer or imported from the monthly file the
social-insurance system exports. Every change also refreshes the person record's single
figure (every month recorded so far, and the latest recording), which the subsidy scans
read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from accounts.principal import Principal
from audit.log import record
from kernel import sandbox
from kernel.clock import local_today, utcnow
from kernel.db import unit_of_work
from kernel.errors import FieldError, InvalidInput, NotFound, TooLarge
from kernel.file_limits import claim_file_limits
from kernel.xlsx_rows import FieldTooLarge
from registry import insured_rows, people
from registry.insured_months import Period, check_period, parse_month, total_months
from registry.organisations import for_update
from registry.outcomes.reading import read_chunks
from registry.outcomes.upload import ReceivedFile
from registry.tables import InsuredPeriod, Person

FOLDER = "insured-months"
MAX_BYTES = 8 << 20  # about 200,000 lines: the monthly export for one batch of people
COLUMNS = (
    InsuredPeriod.id,
    InsuredPeriod.person.as_alias("person_id"),
    InsuredPeriod.first_month,
    InsuredPeriod.last_month,
    InsuredPeriod.employer_credit_code,
    InsuredPeriod.source,
    InsuredPeriod.source_file_sha256,
    InsuredPeriod.recorded_on,
    InsuredPeriod.recorded_by,
    InsuredPeriod.created_at,
)


def check_new(
    first_month: str, last_month: str, employer_credit_code: str | None, today: date
) -> tuple[date, date, str | None]:
    """An officer's period, normalised; every problem named by its field."""
    errors: list[FieldError] = []
    first, last = parse_month(first_month), parse_month(last_month)
    for field, value in (("first_month", first), ("last_month", last)):
        if value is None:
            errors.append(FieldError(field, "must be a month as YYYY-MM"))
    if first is not None and last is not None and (reason := check_period(first, last, today)):
        errors.append(FieldError("last_month" if last < first else "first_month", reason))
    code = uscc.compact(employer_credit_code) if employer_credit_code else None
    if code is not None:
        try:
            uscc.validate(code)
        except ValidationError as exc:
            errors.append(FieldError("employer_credit_code", f"not a valid credit code: {exc}"))
    if errors or first is None or last is None:
        raise InvalidInput(errors)
    return first, last, code


def periods_of(rows: Iterable[dict[str, Any]]) -> tuple[Period, ...]:
    return tuple(
        Period(r["first_month"], r["last_month"], r["recorded_on"], r["source"]) for r in rows
    )


async def list_for(person_id: int) -> list[dict[str, Any]]:
    return (
        await InsuredPeriod.select(*COLUMNS)
        .where(InsuredPeriod.person == person_id)
        .order_by(InsuredPeriod.first_month)
        .order_by(InsuredPeriod.id)
        .run()
    )


async def imported_through(on: date) -> date | None:
    """The latest month of any monthly file imported on or before `on`: the file is one
    export for everyone, so it is how far the social-insurance data reached that day
    (registry.insured_months)."""
    row = (
        await InsuredPeriod.select(InsuredPeriod.last_month)
        .where((InsuredPeriod.source == "import") & (InsuredPeriod.recorded_on <= on))
        .order_by(InsuredPeriod.last_month, ascending=False)
        .first()
        .run()
    )
    return row["last_month"] if row else None


async def list_visible(actor: Principal, person_id: int) -> list[dict[str, Any]]:
    await people.get_visible(actor, person_id)
    return await list_for(person_id)


async def _refresh(person_ids: Iterable[int]) -> None:
    """The person record's derived figure, from every period recorded so far."""
    ids = sorted(set(person_ids))
    now = utcnow()
    for start in range(0, len(ids), 500):
        rows = (
            await InsuredPeriod.select(
                InsuredPeriod.person,
                InsuredPeriod.first_month,
                InsuredPeriod.last_month,
                InsuredPeriod.recorded_on,
                InsuredPeriod.source,
            )
            .where(InsuredPeriod.person.is_in(ids[start : start + 500]))
            .run()
        )
        by_person: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            by_person.setdefault(r["person"], []).append(r)
        for person_id, own in by_person.items():
            periods = periods_of(own)
            await (
                Person.update(
                    {
                        Person.insured_months: total_months(periods),
                        Person.insured_confirmed_on: max(p.recorded_on for p in periods),
                        Person.updated_at: now,
                    }
                )
                .where(Person.id == person_id)
                .run()
            )


async def add(
    actor: Principal,
    person_id: int,
    first_month: str,
    last_month: str,
    employer_credit_code: str | None = None,
) -> dict[str, Any]:
    """Records a period as known today (officers): a period is never back-dated, so what
    was known on an earlier day stays as it was."""
    today = local_today()
    first, last, code = check_new(first_month, last_month, employer_credit_code, today)
    async with unit_of_work():
        # Locked: two periods added at once must both reach the derived figure.
        query = Person.select(Person.id).where(Person.id == person_id)
        if await for_update(query).first().run() is None:
            raise NotFound("person not found", person_id=person_id)
        rows = (
            await InsuredPeriod.insert(
                InsuredPeriod(
                    person=person_id,
                    first_month=first,
                    last_month=last,
                    employer_credit_code=code,
                    source="officer",
                    recorded_on=today,
                    recorded_by=actor.actor,
                )
            )
            .returning(*COLUMNS)
            .run()
        )
        period = rows[0]
        await _refresh([person_id])
        await record(
            actor.actor,
            "person.insured_period_added",
            "person",
            person_id,
            after={
                "period_id": period["id"],
                "first_month": f"{first:%Y-%m}",
                "last_month": f"{last:%Y-%m}",
                "employer_credit_code": code,
                "recorded_on": today.isoformat(),
            },
        )
    return period


# -- the monthly file ---------------------------------------------------------------------


def _read(received: ReceivedFile) -> tuple[pd.DataFrame, list[FieldError]]:
    """The rows as text, and the rows refused as they were read (field count, control
    characters)."""
    frames, shape = [], []
    for chunk in read_chunks(
        received.path,
        received.file_format,
        received.encoding,
        insured_rows.COLUMNS,
        claim_file_limits(),
    ):
        frames.append(chunk.frame)
        shape += [
            FieldError(f"row {p.row}, column {p.column}", f"{p.code}: {p.detail}")
            for p in chunk.shape_problems
        ]
    if not frames:
        return pd.DataFrame({"row": [], **{k: [] for k in insured_rows.KEYS}}), shape
    return pd.concat(frames, ignore_index=True), shape


async def _registered(id_numbers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(id_numbers), 500):
        rows = (
            await Person.select(Person.id, Person.id_number)
            .where(Person.id_number.is_in(id_numbers[start : start + 500]))
            .run()
        )
        found.update({r["id_number"]: r["id"] for r in rows})
    return found


async def _imported(person_ids: list[int]) -> set[tuple[int, date, str | None]]:
    """Months already imported as single-month periods, to skip a repeated line."""
    seen: set[tuple[int, date, str | None]] = set()
    for start in range(0, len(person_ids), 500):
        rows = (
            await InsuredPeriod.select(
                InsuredPeriod.person, InsuredPeriod.first_month, InsuredPeriod.employer_credit_code
            )
            .where(
                InsuredPeriod.person.is_in(person_ids[start : start + 500])
                & (InsuredPeriod.source == "import")
            )
            .run()
        )
        seen.update((r["person"], r["first_month"], r["employer_credit_code"]) for r in rows)
    return seen


async def import_file(actor: Principal, received: ReceivedFile) -> dict[str, Any]:
    """Records every month of the file as known today, or nothing if a row is bad."""
    try:
        frame, errors = await sandbox.call_async(_read, received)
    except FieldTooLarge as exc:
        raise TooLarge(str(exc), field="file") from None
    except (OSError, ValueError) as exc:
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    today = local_today()
    registered = await _registered(sorted(insured_rows.ids_of(frame, today)))
    rows, row_errors = insured_rows.check_rows(frame, today, set(registered))
    errors = sorted(errors + row_errors, key=lambda e: int(e.field.split(",")[0].split()[1]))
    if errors:
        raise InvalidInput(errors)
    async with unit_of_work():
        person_ids = sorted({registered[r.id_number] for r in rows})
        # Locked in id order: a concurrent import or entry for the same people waits, so
        # each derived figure counts what the other recorded.
        for start in range(0, len(person_ids), 500):
            chunk = person_ids[start : start + 500]
            await for_update(
                Person.select(Person.id).where(Person.id.is_in(chunk)).order_by(Person.id)
            ).run()
        seen = await _imported(person_ids)
        new: list[InsuredPeriod] = []
        for r in rows:
            key = (registered[r.id_number], r.month, r.employer_credit_code)
            if key in seen:
                continue
            seen.add(key)
            new.append(
                InsuredPeriod(
                    person=key[0],
                    first_month=r.month,
                    last_month=r.month,
                    employer_credit_code=r.employer_credit_code,
                    source="import",
                    source_file_sha256=received.sha256,
                    recorded_on=today,
                    recorded_by=actor.actor,
                )
            )
        for start in range(0, len(new), 500):
            await InsuredPeriod.insert(*new[start : start + 500]).run()
        await _refresh({p.person for p in new})
        counts = {
            "total_rows": len(rows),
            "recorded": len(new),
            "already_recorded": len(rows) - len(new),
            "people": len(person_ids),
        }
        await record(
            actor.actor,
            "person.insured_months_imported",
            "insured_month_file",
            received.sha256,
            after={**counts, "filename": received.filename, "recorded_on": today.isoformat()},
        )
    return {**counts, "sha256": received.sha256, "recorded_on": today}
