"""People: validation (pure, `today` passed in) and the service functions over their table.

One person per resident ID. Birth date and sex come from the ID, never from input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from kernel.masking import mask_id_number
from registry import resident_ids
from registry.eligibility import SCHOOL_TYPES
from registry.organisations import for_update
from registry.tables import Certificate, Organisation, Person, TrainingOutcome
from registry.towns import TOWNS
from registry.visibility import sees_full_id, shown_id

HUKOU_CHOICES = ("local", "non_local")  # what input may say; "unknown" is for imports
NAME_MAX = 50
PHONE = re.compile(r"[0-9+\-]{5,20}")
EARLIEST_GRADUATE_YEAR = 1950
SCHOOL_MAX = 100

COLUMNS = (
    Person.id,
    Person.id_number,
    Person.name,
    Person.birth_date,
    Person.sex,
    Person.hukou,
    Person.phone,
    Person.town,
    Person.insured_months,
    Person.insured_confirmed_on,
    Person.fresh_graduate,
    Person.graduate_school,
    Person.graduate_school_id,
    Person.graduate_year,
    Person.region_warning,
    Person.region_confirmed_by,
    Person.created_at,
    Person.updated_at,
)


@dataclass(frozen=True)
class NewPerson:
    id_number: str
    name: str
    hukou: str
    phone: str | None = None
    town: str | None = None
    fresh_graduate: bool = False
    graduate_school: str | None = None
    graduate_school_id: int | None = None
    graduate_year: int | None = None


# -- validation (pure) ---------------------------------------------------------------


def _text(low: int, high: int) -> Any:
    def check(value: str, _: date) -> tuple[str, str | None]:
        value = value.strip()
        return value, None if low <= len(value) <= high else f"must be {low} to {high} characters"

    return check


def _one_of(choices: tuple[str, ...], reason: str) -> Any:
    return lambda value, _: (value, None if value in choices else reason)


def _phone(value: str, _: date) -> tuple[str, str | None]:
    value = value.strip()
    ok = PHONE.fullmatch(value) is not None
    return value, None if ok else "must be 5 to 20 characters of digits, + and -"


def _graduate_year(value: int, today: date) -> tuple[int, str | None]:
    ok = EARLIEST_GRADUATE_YEAR <= value <= today.year
    return value, None if ok else f"must be a year from {EARLIEST_GRADUATE_YEAR} to {today.year}"


# Per field: (value, today) -> (normalised value, reason it is refused or None).
# None as a value (clearing an optional field) is not passed to these.
_CHECKS: dict[str, Any] = {
    "name": _text(1, NAME_MAX),
    "hukou": _one_of(HUKOU_CHOICES, "must be local or non_local"),
    "phone": _phone,
    "town": _one_of(TOWNS, "must be one of Dongguan's 33 towns, streets and parks"),
    "fresh_graduate": lambda value, _: (value, None),
    "graduate_school": _text(1, SCHOOL_MAX),
    "graduate_school_id": lambda value, _: (value, None),  # checked against the table
    "graduate_year": _graduate_year,
}
MUTABLE = tuple(_CHECKS)


def check_fields(values: Mapping[str, Any], today: date) -> tuple[dict[str, Any], list[FieldError]]:
    """Checks the mutable fields present in `values`; returns them normalised."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in values.items():
        if value is None:
            clean[field] = None
            continue
        clean[field], reason = _CHECKS[field](value, today)
        if reason:
            errors.append(FieldError(field, reason))
    return clean, errors


def check_together(person: Mapping[str, Any], errors: list[FieldError]) -> None:
    """Rules across fields, over the record as it would be stored."""
    already = {e.field for e in errors}

    def fail(field: str, reason: str) -> None:
        if field not in already:
            errors.append(FieldError(field, reason))

    if person.get("fresh_graduate"):
        if person.get("graduate_school") is None and person.get("graduate_school_id") is None:
            fail("graduate_school", "required for a fresh graduate (or graduate_school_id)")
        if person.get("graduate_year") is None:
            fail("graduate_year", "required for a fresh graduate")


def validate_new(new: NewPerson, today: date) -> tuple[resident_ids.ResidentId, dict[str, Any]]:
    errors: list[FieldError] = []
    parsed = None
    try:
        parsed = resident_ids.parse(new.id_number, today)
    except resident_ids.InvalidResidentId as exc:
        errors.append(FieldError("id_number", exc.reason))
    facts = {f: getattr(new, f) for f in MUTABLE}
    clean, field_errors = check_fields(facts, today)
    errors.extend(field_errors)
    check_together(clean, errors)
    if errors or parsed is None:
        raise InvalidInput(errors)
    return parsed, clean


def validate_changes(current: Mapping[str, Any], changes: Mapping[str, Any], today: date) -> dict:
    """The changes normalised, checked alone and together with the stored record. Fields
    not being changed are not re-checked (an import may have stored hukou "unknown")."""
    if not changes:
        raise InvalidInput.single("body", f"give at least one of: {', '.join(MUTABLE)}")
    clean, errors = check_fields(changes, today)
    check_together({**current, **clean}, errors)
    if errors:
        raise InvalidInput(errors)
    return clean


# -- what callers see -------------------------------------------------------------------

_REGION = re.compile(r"\b(\d{4})\d{2}\b")


def shown(who: Principal, person: dict[str, Any]) -> dict[str, Any]:
    """The record as `who` may see it: the ID number whole or masked, and the region code
    in the warning cut to the 4 digits a masked number shows anyway."""
    out = {**person, "id_number": shown_id(who, person["id_number"])}
    if person.get("region_warning") and not sees_full_id(who):
        out["region_warning"] = _REGION.sub(r"\1**", person["region_warning"])
    return out


def _audit_view(person: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    """Audit entries are read by auditors, who see ID numbers masked: mask the number and
    the region code a warning names."""
    view = {"id_number": mask_id_number(person["id_number"]), **{f: person[f] for f in fields}}
    if view.get("region_warning"):
        view["region_warning"] = _REGION.sub(r"\1**", view["region_warning"])
    return view


# -- services ---------------------------------------------------------------------------


def _duplicate(person_id: int) -> Conflict:
    return Conflict(
        f"this ID number belongs to person {person_id} already",
        field="id_number",
        person_id=person_id,
    )


async def _id_of(id_number: str) -> int | None:
    row = await Person.select(Person.id).where(Person.id_number == id_number).first().run()
    return row["id"] if row else None


async def _with_school(person: Mapping[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    """A linked school must be a registered technical or vocational school; its name
    stands for the school's text when none is written."""
    school_id = clean.get("graduate_school_id")
    if school_id is None:
        return clean
    school = (
        await Organisation.select(Organisation.name, Organisation.org_type)
        .where(Organisation.id == school_id)
        .first()
        .run()
    )
    if school is None or school["org_type"] not in SCHOOL_TYPES:
        raise InvalidInput.single(
            "graduate_school_id", "must be a registered technical or vocational school"
        )
    if {**person, **clean}.get("graduate_school") is None:
        return {**clean, "graduate_school": school["name"][:SCHOOL_MAX]}
    return clean


async def create(actor: Principal, new: NewPerson) -> dict[str, Any]:
    parsed, clean = validate_new(new, local_today())
    try:
        async with unit_of_work():
            clean = await _with_school({}, clean)
            existing = await _id_of(parsed.number)
            if existing is not None:
                raise _duplicate(existing)
            values = {
                **clean,
                "id_number": parsed.number,
                "birth_date": parsed.birth_date,
                "sex": parsed.sex,
                "region_warning": parsed.region_warning,
                "created_by": actor.actor,
            }
            with conflict_on_duplicate("this ID number belongs to a person already", "id_number"):
                rows = await Person.insert(Person(**values)).returning(*COLUMNS).run()
            person = rows[0]
            after = _audit_view(person, [*MUTABLE, "birth_date", "sex", "region_warning"])
            await record(actor.actor, "person.created", "person", person["id"], after=after)
    except Conflict as exc:
        if "person_id" in exc.details:
            raise
        # A concurrent request inserted the same ID first; its row has committed.
        existing = await _id_of(parsed.number)
        if existing is None:
            raise
        raise _duplicate(existing) from None
    return person


async def is_linked(organisation_id: int, person_id: int) -> bool:
    """An organisation is linked to a person it reported a training outcome for, or
    issued a certificate to."""
    trained = TrainingOutcome.exists().where(
        (TrainingOutcome.person == person_id) & (TrainingOutcome.institution == organisation_id)
    )
    if await trained.run():
        return True
    return (
        await Certificate.exists()
        .where((Certificate.person == person_id) & (Certificate.issuer == organisation_id))
        .run()
    )


async def get_visible(actor: Principal, person_id: int) -> dict[str, Any]:
    """Staff see everyone; an organisation only the people it is linked to."""
    person = await Person.select(*COLUMNS).where(Person.id == person_id).first().run()
    if person is None:
        raise NotFound("person not found", person_id=person_id)
    if not actor.is_staff and (
        actor.organisation_id is None or not await is_linked(actor.organisation_id, person_id)
    ):
        raise NotVisible("person not found", person_id=person_id)
    return person


async def _locked(person_id: int) -> dict[str, Any]:
    person = await for_update(Person.select(*COLUMNS).where(Person.id == person_id)).first().run()
    if person is None:
        raise NotFound("person not found", person_id=person_id)
    return person


async def update(actor: Principal, person_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    today = local_today()
    async with unit_of_work():
        current = await _locked(person_id)
        clean = await _with_school(current, validate_changes(current, changes, today))
        changed = {f: v for f, v in clean.items() if current[f] != v}
        if not changed:
            return current
        now = utcnow()
        await (
            Person.update(
                {**{getattr(Person, f): v for f, v in changed.items()}, Person.updated_at: now}
            )
            .where(Person.id == person_id)
            .run()
        )
        updated = {**current, **changed, "updated_at": now}
        await record(
            actor.actor,
            "person.updated",
            "person",
            person_id,
            before=_audit_view(current, list(changed)),
            after=_audit_view(updated, list(changed)),
        )
    return updated


async def confirm_region(actor: Principal, person_id: int) -> dict[str, Any]:
    """An officer has checked the region code python-stdnum's table does not know."""
    async with unit_of_work():
        current = await _locked(person_id)
        if not current["region_warning"]:
            raise Conflict("this person's ID number has no region warning to confirm")
        now = utcnow()
        await (
            Person.update(
                {
                    Person.region_warning: None,
                    Person.region_confirmed_by: actor.actor,
                    Person.updated_at: now,
                }
            )
            .where(Person.id == person_id)
            .run()
        )
        updated = {
            **current,
            "region_warning": None,
            "region_confirmed_by": actor.actor,
            "updated_at": now,
        }
        fields = ["region_warning", "region_confirmed_by"]
        await record(
            actor.actor,
            "person.region_confirmed",
            "person",
            person_id,
            before=_audit_view(current, fields),
            after=_audit_view(updated, fields),
        )
    return updated
