"""Staff affiliations: who is employed by, or otherwise linked to, which organisation.
A reviewer may not review a case of an organisation they are affiliated with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from accounts.tables import StaffAffiliation, StaffUser
from audit.log import record
from kernel.clock import local_today
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from registry.tables import Organisation

RELATIONS = ("employed", "linked")
NOTE_MAX = 200

_COLUMNS = (
    StaffAffiliation.id,
    StaffAffiliation.staff_user.as_alias("staff_user_id"),
    StaffAffiliation.organisation.as_alias("organisation_id"),
    StaffAffiliation.organisation.name.as_alias("organisation_name"),
    StaffAffiliation.relation,
    StaffAffiliation.since,
    StaffAffiliation.note,
    StaffAffiliation.recorded_by,
    StaffAffiliation.recorded_at,
)


@dataclass(frozen=True)
class NewAffiliation:
    organisation_id: int
    relation: str
    since: date | None = None
    note: str | None = None


def validate(new: NewAffiliation, today: date) -> NewAffiliation:
    errors: list[FieldError] = []
    if new.relation not in RELATIONS:
        errors.append(FieldError("relation", f"must be one of {', '.join(RELATIONS)}"))
    if new.since is not None and new.since > today:
        errors.append(FieldError("since", "must not be in the future"))
    note = new.note.strip() if new.note else None
    if note is not None and len(note) > NOTE_MAX:
        errors.append(FieldError("note", f"must be at most {NOTE_MAX} characters"))
    if errors:
        raise InvalidInput(errors)
    return NewAffiliation(new.organisation_id, new.relation, new.since, note or None)


async def record_affiliation(
    actor: Principal, staff_user_id: int, new: NewAffiliation
) -> dict[str, Any]:
    clean = validate(new, local_today())
    async with unit_of_work():
        if not await StaffUser.exists().where(StaffUser.id == staff_user_id).run():
            raise NotFound("staff user not found", staff_user_id=staff_user_id)
        if not await Organisation.exists().where(Organisation.id == clean.organisation_id).run():
            raise InvalidInput.single("organisation_id", "no such organisation")
        duplicate = "this affiliation is already recorded"
        if (
            await StaffAffiliation.exists()
            .where(
                (StaffAffiliation.staff_user == staff_user_id)
                & (StaffAffiliation.organisation == clean.organisation_id)
                & (StaffAffiliation.relation == clean.relation)
            )
            .run()
        ):
            raise Conflict(duplicate, field="organisation_id")
        with conflict_on_duplicate(duplicate, "organisation_id"):
            rows = (
                await StaffAffiliation.insert(
                    StaffAffiliation(
                        staff_user=staff_user_id,
                        organisation=clean.organisation_id,
                        relation=clean.relation,
                        since=clean.since,
                        note=clean.note,
                        recorded_by=actor.actor,
                    )
                )
                .returning(StaffAffiliation.id)
                .run()
            )
        affiliation_id = rows[0]["id"]
        await record(
            actor.actor,
            "staff.affiliation_recorded",
            "staff_affiliation",
            affiliation_id,
            after={
                "staff_user_id": staff_user_id,
                "organisation_id": clean.organisation_id,
                "relation": clean.relation,
                "since": clean.since.isoformat() if clean.since else None,
                "note": clean.note,
            },
        )
        return await _one(affiliation_id)


async def _one(affiliation_id: int) -> dict[str, Any]:
    row = (
        await StaffAffiliation.select(*_COLUMNS)
        .where(StaffAffiliation.id == affiliation_id)
        .first()
        .run()
    )
    assert row is not None
    return row


async def list_for(staff_user_id: int) -> list[dict[str, Any]]:
    if not await StaffUser.exists().where(StaffUser.id == staff_user_id).run():
        raise NotFound("staff user not found", staff_user_id=staff_user_id)
    return (
        await StaffAffiliation.select(*_COLUMNS)
        .where(StaffAffiliation.staff_user == staff_user_id)
        .order_by(StaffAffiliation.id)
        .run()
    )


async def ties(staff_user_id: int, organisation_id: int) -> list[str]:
    """The relations recorded between a staff member and an organisation ([] if none)."""
    rows = (
        await StaffAffiliation.select(StaffAffiliation.relation)
        .where(
            (StaffAffiliation.staff_user == staff_user_id)
            & (StaffAffiliation.organisation == organisation_id)
        )
        .order_by(StaffAffiliation.relation)
        .run()
    )
    return [r["relation"] for r in rows]
