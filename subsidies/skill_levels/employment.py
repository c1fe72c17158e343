"""Employment reports: an enterprise tells the bureau who it employs in Dongguan and
whether it pays their social insurance; officers report on an enterprise's behalf.
The skill-level subsidy and its automatic scan ask whether a person was employed (and
insured) on a certificate's issue date.

Rules: the employer is an enterprise in the registry (every registered organisation is
a Dongguan one); dates are not in the future; a person has at most one open or
overlapping employment with the same employer (checked under a lock on the person row,
so two concurrent reports cannot both pass); an employment ends once, not before it
started. An enterprise sees and ends only its own reports (others' answer 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from accounts.roles import OrgType
from audit.log import record
from kernel.clock import local_today
from kernel.db import unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from registry import resident_ids
from registry.organisations import for_update
from registry.tables import Employment, Organisation, Person

EMPLOYER_TYPES = (OrgType.ENTERPRISE.value,)

COLUMNS = (
    Employment.id,
    Employment.person.as_alias("person_id"),
    Employment.person.name.as_alias("person_name"),
    Employment.employer.as_alias("employer_id"),
    Employment.employer.name.as_alias("employer_name"),
    Employment.started_on,
    Employment.ended_on,
    Employment.insured,
    Employment.reported_by,
    Employment.created_at,
)


@dataclass(frozen=True)
class NewEmployment:
    started_on: date
    insured: bool
    person_id: int | None = None
    id_number: str | None = None  # an enterprise knows its employees by resident ID
    employer_id: int | None = None  # officers name it; an enterprise reports for itself


def validate_new(new: NewEmployment, today: date) -> list[FieldError]:
    """Pure checks of a report (the database ones follow in the service)."""
    errors = []
    if (new.person_id is None) == (new.id_number is None):
        errors.append(FieldError("person_id", "give exactly one of person_id and id_number"))
    elif new.id_number is not None:
        try:
            resident_ids.parse(new.id_number, today)
        except resident_ids.InvalidResidentId as error:
            errors.append(FieldError("id_number", error.reason))
    if new.started_on > today:
        errors.append(FieldError("started_on", "must not be in the future"))
    return errors


def validate_end(started_on: date, ended_on: date, today: date) -> list[FieldError]:
    if ended_on > today:
        return [FieldError("ended_on", "must not be in the future")]
    if ended_on < started_on:
        return [FieldError("ended_on", f"must not be before the start {started_on}")]
    return []


def overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Two periods (an open end runs on for ever) share at least one day."""
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


async def _employer_for(actor: Principal, employer_id: int | None) -> int:
    if not actor.is_staff:
        assert actor.organisation_id is not None
        if employer_id not in (None, actor.organisation_id):
            raise InvalidInput.single(
                "employer_id", "an enterprise reports its own employees: leave this out"
            )
        return actor.organisation_id
    if employer_id is None:
        raise InvalidInput.single("employer_id", "required when an officer reports")
    org = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == employer_id)
        .first()
        .run()
    )
    if org is None:
        raise InvalidInput.single("employer_id", "no such organisation")
    if org["org_type"] not in EMPLOYER_TYPES:
        raise InvalidInput.single("employer_id", "the employer must be an enterprise")
    return employer_id


async def _person_id(new: NewEmployment) -> int:
    query = Person.select(Person.id)
    if new.person_id is not None:
        query = query.where(Person.id == new.person_id)
        field = "person_id"
    else:
        assert new.id_number is not None
        query = query.where(Person.id_number == resident_ids.normalise(new.id_number))
        field = "id_number"
    row = await for_update(query).first().run()
    if row is None:
        raise InvalidInput.single(field, "no such person in the registry")
    return row["id"]


async def report(actor: Principal, new: NewEmployment) -> dict[str, Any]:
    errors = validate_new(new, local_today())
    if errors:
        raise InvalidInput(errors)
    employer_id = await _employer_for(actor, new.employer_id)
    async with unit_of_work():
        person_id = await _person_id(new)  # locks the person: reports of one queue up
        held = (
            await Employment.select(Employment.id, Employment.started_on, Employment.ended_on)
            .where((Employment.person == person_id) & (Employment.employer == employer_id))
            .run()
        )
        for other in held:
            if overlaps(new.started_on, None, other["started_on"], other["ended_on"]):
                raise Conflict(
                    f"employment {other['id']} of this person with this employer "
                    f"(from {other['started_on']}) overlaps; end it first",
                    field="started_on",
                    existing_employment_id=other["id"],
                )
        rows = (
            await Employment.insert(
                Employment(
                    person=person_id,
                    employer=employer_id,
                    started_on=new.started_on,
                    insured=new.insured,
                    reported_by=actor.actor,
                )
            )
            .returning(Employment.id)
            .run()
        )
        employment_id = rows[0]["id"]
        await record(
            actor.actor,
            "employment.reported",
            "employment",
            employment_id,
            after={
                "person_id": person_id,
                "employer_id": employer_id,
                "started_on": new.started_on.isoformat(),
                "insured": new.insured,
            },
        )
    return await get(actor, employment_id)


async def end(actor: Principal, employment_id: int, ended_on: date) -> dict[str, Any]:
    today = local_today()
    async with unit_of_work():
        query = Employment.select(
            Employment.employer, Employment.started_on, Employment.ended_on
        ).where(Employment.id == employment_id)
        current = await for_update(query).first().run()
        if current is None:
            raise NotFound("employment not found", employment_id=employment_id)
        if not actor.is_staff and current["employer"] != actor.organisation_id:
            raise NotVisible("employment not found", employment_id=employment_id)
        if current["ended_on"] is not None:
            raise Conflict(f"this employment ended on {current['ended_on']} already")
        errors = validate_end(current["started_on"], ended_on, today)
        if errors:
            raise InvalidInput(errors)
        await (
            Employment.update({Employment.ended_on: ended_on})
            .where((Employment.id == employment_id) & Employment.ended_on.is_null())
            .run()
        )
        await record(
            actor.actor,
            "employment.ended",
            "employment",
            employment_id,
            before={"ended_on": None},
            after={"ended_on": ended_on.isoformat()},
        )
    return await get(actor, employment_id)


async def get(actor: Principal, employment_id: int) -> dict[str, Any]:
    row = await Employment.select(*COLUMNS).where(Employment.id == employment_id).first().run()
    if row is None:
        raise NotFound("employment not found", employment_id=employment_id)
    if not actor.is_staff and row["employer_id"] != actor.organisation_id:
        raise NotVisible("employment not found", employment_id=employment_id)
    return row


async def list_visible(
    actor: Principal,
    *,
    person_id: int | None,
    employer_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Staff see every report (filter by person or employer); an enterprise only its own
    (a person_id it never reported simply finds nothing)."""
    query = Employment.select(*COLUMNS)
    if not actor.is_staff:
        if employer_id not in (None, actor.organisation_id):
            raise InvalidInput.single("employer_id", "an enterprise sees only its own reports")
        employer_id = actor.organisation_id
    if person_id is not None:
        query = query.where(Employment.person == person_id)
    if employer_id is not None:
        query = query.where(Employment.employer == employer_id)
    if after_id is not None:
        query = query.where(Employment.id > after_id)
    return await query.order_by(Employment.id).limit(limit).run()
