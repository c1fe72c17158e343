"""Registered internship programmes over the database: officers and admins register,
change and confirm them (each change audited); anyone signed in lists them, since a host
chooses one for each placement. Rules in programme_rules."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from accounts.roles import StaffRole
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.organisations import for_update
from subsidies.internships import programme_rules as prules
from subsidies.internships import rules
from subsidies.internships.tables import Placement, Programme
from subsidies.policies import catalogue

WRITERS = (StaffRole.OFFICER, StaffRole.ADMIN)
DUPLICATE = "a programme of this name and plan year is registered already"

COLUMNS = (
    Programme.id,
    Programme.name,
    Programme.plan_year,
    Programme.scheme,
    Programme.monthly_rate_fen,
    Programme.max_months,
    Programme.cap_per_intern_fen,
    Programme.start_date,
    Programme.end_date,
    Programme.needs_review,
    Programme.created_by,
    Programme.created_at,
    Programme.updated_at,
)
_AUDITED = (
    "name",
    "plan_year",
    "monthly_rate_fen",
    "max_months",
    "cap_per_intern_fen",
    "start_date",
    "end_date",
    "needs_review",
)


def _ensure_writer(actor: Principal) -> None:
    if not (actor.is_staff and actor.has_any(*WRITERS)):
        raise Forbidden("this needs one of: officer, admin")


async def _terms(fields: prules.ProgrammeFields) -> prules.ProgrammeTerms:
    """The terms within the internship policy version in force on the start date."""
    stored = await catalogue.version_on(rules.SCHEME, fields.start_date)
    if stored is None:
        raise InvalidInput.single(
            "start_date", "no internship policy version is in force on this day"
        )
    policy = stored.policy
    terms, errors = prules.terms_within_policy(
        fields, prules.policy_terms(policy.parameters), policy.version
    )
    if errors:
        raise InvalidInput(errors)
    return terms


def _audited(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


async def _duplicate_of(key: str, plan_year: int, other_than: int | None) -> None:
    query = Programme.select(Programme.id).where(
        (Programme.name_key == key) & (Programme.plan_year == plan_year)
    )
    if other_than is not None:
        query = query.where(Programme.id != other_than)
    held = await query.first().run()
    if held is not None:
        raise Conflict(
            f"{DUPLICATE} (programme {held['id']})", field="name", programme_id=held["id"]
        )


async def create(actor: Principal, fields: prules.ProgrammeFields) -> dict[str, Any]:
    _ensure_writer(actor)
    clean, errors = prules.check_fields(fields)
    if errors:
        raise InvalidInput(errors)
    terms = await _terms(clean)
    key = prules.name_key(clean.name)
    values = {
        "name": clean.name,
        "plan_year": clean.plan_year,
        "monthly_rate_fen": terms.monthly_rate_fen,
        "max_months": terms.max_months,
        "cap_per_intern_fen": terms.cap_per_intern_fen,
        "start_date": clean.start_date,
        "end_date": clean.end_date,
        "needs_review": False,
    }
    async with unit_of_work():
        await _duplicate_of(key, clean.plan_year, None)
        with conflict_on_duplicate(DUPLICATE, "name"):
            rows = (
                await Programme.insert(
                    Programme(**values, name_key=key, scheme=rules.SCHEME, created_by=actor.actor)
                )
                .returning(Programme.id)
                .run()
            )
        programme_id = rows[0]["id"]
        await record(
            actor.actor,
            "internship_programme.registered",
            "internship_programme",
            programme_id,
            after=_audited(values),
        )
    return await get(programme_id)


async def update(actor: Principal, programme_id: int, fields: prules.ProgrammeFields) -> dict:
    """Changes a programme. Its placements must stay within its dates; months already
    calculated keep their amounts."""
    _ensure_writer(actor)
    clean, errors = prules.check_fields(fields)
    if errors:
        raise InvalidInput(errors)
    terms = await _terms(clean)
    key = prules.name_key(clean.name)
    async with unit_of_work():
        before = (
            await for_update(Programme.select(*COLUMNS).where(Programme.id == programme_id))
            .first()
            .run()
        )
        if before is None:
            raise NotFound("internship programme not found", programme_id=programme_id)
        await _duplicate_of(key, clean.plan_year, programme_id)
        outside = (
            await Placement.select(Placement.id, Placement.start_date, Placement.end_date)
            .where(
                (Placement.programme_id == programme_id)
                & (
                    (Placement.start_date < clean.start_date)
                    | (Placement.end_date > clean.end_date)
                )
            )
            .first()
            .run()
        )
        if outside is not None:
            field = "start_date" if outside["start_date"] < clean.start_date else "end_date"
            raise InvalidInput.single(
                field,
                f"placement {outside['id']} of this programme ({outside['start_date']} to "
                f"{outside['end_date']}) lies outside these dates",
            )
        after = {
            "name": clean.name,
            "plan_year": clean.plan_year,
            "monthly_rate_fen": terms.monthly_rate_fen,
            "max_months": terms.max_months,
            "cap_per_intern_fen": terms.cap_per_intern_fen,
            "start_date": clean.start_date,
            "end_date": clean.end_date,
        }
        with conflict_on_duplicate(DUPLICATE, "name"):
            await (
                Programme.update(
                    {
                        **{getattr(Programme, k): v for k, v in after.items()},
                        Programme.name_key: key,
                        Programme.updated_at: utcnow(),
                    }
                )
                .where(Programme.id == programme_id)
                .run()
            )
        await record(
            actor.actor,
            "internship_programme.updated",
            "internship_programme",
            programme_id,
            before=_audited({k: before[k] for k in after}),
            after=_audited(after),
        )
    return await get(programme_id)


async def confirm(actor: Principal, programme_id: int) -> dict[str, Any]:
    """An officer has checked a programme the migration made from hosts' names."""
    _ensure_writer(actor)
    async with unit_of_work():
        row = (
            await for_update(
                Programme.select(Programme.needs_review).where(Programme.id == programme_id)
            )
            .first()
            .run()
        )
        if row is None:
            raise NotFound("internship programme not found", programme_id=programme_id)
        if not row["needs_review"]:
            raise Conflict("this programme needs no review", field="needs_review")
        await (
            Programme.update({Programme.needs_review: False, Programme.updated_at: utcnow()})
            .where(Programme.id == programme_id)
            .run()
        )
        await record(
            actor.actor,
            "internship_programme.reviewed",
            "internship_programme",
            programme_id,
            before={"needs_review": True},
            after={"needs_review": False},
        )
    return await get(programme_id)


async def get(programme_id: int) -> dict[str, Any]:
    row = await Programme.select(*COLUMNS).where(Programme.id == programme_id).first().run()
    if row is None:
        raise NotFound("internship programme not found", programme_id=programme_id)
    return row


async def chosen(programme_id: int) -> dict[str, Any]:
    """The programme a host names for a placement; an unknown id is the host's input.
    Locked until the caller's unit of work ends, so a change of its dates cannot slip
    between the check of a placement's dates and its insert."""
    row = (
        await for_update(Programme.select(*COLUMNS).where(Programme.id == programme_id))
        .first()
        .run()
    )
    if row is None:
        raise InvalidInput.single("programme_id", "no registered internship programme has this id")
    return row


async def cap_of_key(cap_key: str | None) -> int | None:
    """The cap per intern of the registered programme a cap key is of (None for another
    key), for an approval to commit against. Share-locked until the caller's unit of
    work ends: an officer's change of the cap waits for the approval, and an approval
    after the change reads the new cap; approvals do not wait for each other."""
    programme_id = rules.programme_of_cap_key(cap_key)
    if programme_id is None:
        return None
    query = Programme.select(Programme.cap_per_intern_fen).where(Programme.id == programme_id)
    row = await (query if is_sqlite(engine()) else query.lock_rows("SHARE")).first().run()
    return None if row is None else row["cap_per_intern_fen"]


async def list_all(
    *, needs_review: bool | None, plan_year: int | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    query = Programme.select(*COLUMNS)
    if needs_review is not None:
        query = query.where(Programme.needs_review == needs_review)
    if plan_year is not None:
        query = query.where(Programme.plan_year == plan_year)
    if after_id is not None:
        query = query.where(Programme.id < after_id)
    return await query.order_by(Programme.id, ascending=False).limit(limit).run()


async def unmapped_placements(
    actor: Principal, *, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Placements the migration could not map to a programme (their free-text name has
    no letter or digit): their months are not paid (the run gives them 0 and says why)
    and new ones are refused until an officer maps the placement to a registered
    programme (placement_mapping), which carries its months and money paid over."""
    if not actor.is_staff:
        raise Forbidden("this needs a staff account")
    query = Placement.select(
        Placement.id,
        Placement.host.as_alias("host_organisation_id"),
        Placement.person.as_alias("person_id"),
        Placement.programme.as_alias("programme_text"),
        Placement.start_date,
        Placement.end_date,
    ).where(Placement.programme_id.is_null())
    if after_id is not None:
        query = query.where(Placement.id < after_id)
    return await query.order_by(Placement.id, ascending=False).limit(limit).run()
