"""Master studios over their tables: applying, review through the engine in reviews/,
establishment, yearly assessments, revocation; who sees which studio."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_date, local_today, utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from registry import occupations
from registry.organisations import for_update
from registry.studios import masters, rules
from registry.studios.tables import Studio, StudioAssessment, StudioMember
from registry.tables import Organisation, Person
from registry.towns import TOWNS
from registry.visibility import shown_id
from reviews import cases, scoring
from workers.outbox import enqueue

_LISTED = (
    Studio.id,
    Studio.host.as_alias("host_organisation_id"),
    Studio.host.name.as_alias("host_name"),
    Studio.host.town.as_alias("host_town"),
    Studio.master.as_alias("master_person_id"),
    Studio.master.name.as_alias("master_name"),
    Studio.occupation_code,
    Studio.occupation_name,
    Studio.status,
    Studio.level,
    Studio.established_on,
    Studio.review_case.as_alias("review_case_id"),
    Studio.applied_at,
)
_DETAIL = (
    *_LISTED,
    Studio.master.id_number.as_alias("master_id_number"),
    Studio.plan,
    Studio.master_basis,
    Studio.applied_by,
    Studio.decided_by,
    Studio.decided_at,
    Studio.rejected_reason,
    Studio.revoked_on,
    Studio.revoked_reason,
    Studio.revoked_by,
)


# -- applying ------------------------------------------------------------------------


async def apply(
    actor: Principal, host_organisation_id: int | None, new: rules.NewStudio
) -> dict[str, Any]:
    """An organisation applies for itself; an officer names the host it acts for."""
    clean = rules.validate_application(new)
    today = local_today()
    host_id = await _host_for(actor, host_organisation_id)
    async with unit_of_work():
        await _ensure_people_exist(clean)
        basis = await masters.master_basis(clean.master_person_id, clean.occupation_code, today)
        if basis is None:
            raise InvalidInput.single("master_person_id", rules.MASTER_REASON)
        live = (
            await Studio.select(Studio.id)
            .where(
                (Studio.master == clean.master_person_id) & Studio.status.is_in(list(rules.LIVE))
            )
            .first()
            .run()
        )
        duplicate = (
            "this person already masters a studio that is applied, under review or established"
        )
        if live is not None:
            raise Conflict(f"{duplicate} (studio {live['id']})", field="master_person_id")
        with conflict_on_duplicate(duplicate, "master_person_id"):
            rows = (
                await Studio.insert(
                    Studio(
                        host=host_id,
                        master=clean.master_person_id,
                        occupation_code=clean.occupation_code,
                        occupation_name=clean.occupation_name,
                        plan=clean.plan,
                        master_basis=basis,
                        applied_by=actor.actor,
                    )
                )
                .returning(Studio.id)
                .run()
            )
        studio_id = rows[0]["id"]
        if clean.members:
            await StudioMember.insert(
                *(
                    StudioMember(studio=studio_id, person=m.person_id, role=m.role)
                    for m in clean.members
                )
            ).run()
        await record(
            actor.actor,
            "studio.applied",
            "studio",
            studio_id,
            after={
                "host_organisation_id": host_id,
                "master_person_id": clean.master_person_id,
                "master_basis": basis,
                "occupation_code": clean.occupation_code,
                "members": [[m.person_id, m.role] for m in clean.members],
            },
        )
    return await get(actor, studio_id)


async def _host_for(actor: Principal, host_organisation_id: int | None) -> int:
    if not actor.is_staff:
        assert actor.organisation_id is not None
        if host_organisation_id not in (None, actor.organisation_id):
            raise InvalidInput.single(
                "host_organisation_id", "an organisation applies for itself: leave this out"
            )
        return actor.organisation_id
    if host_organisation_id is None:
        raise InvalidInput.single(
            "host_organisation_id", "required when an officer applies for a host"
        )
    host = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == host_organisation_id)
        .first()
        .run()
    )
    if host is None:
        raise InvalidInput.single("host_organisation_id", "no such organisation")
    if host["org_type"] not in rules.HOST_TYPES:
        raise InvalidInput.single(
            "host_organisation_id",
            f"a host must be one of {', '.join(t.value for t in rules.HOST_TYPES)}",
        )
    return host_organisation_id


async def _ensure_people_exist(new: rules.NewStudio) -> None:
    wanted = {new.master_person_id, *(m.person_id for m in new.members)}
    found = {
        r["id"] for r in await Person.select(Person.id).where(Person.id.is_in(list(wanted))).run()
    }
    errors = []
    if new.master_person_id not in found:
        errors.append(FieldError("master_person_id", "no such person"))
    for i, member in enumerate(new.members):
        if member.person_id not in found:
            errors.append(FieldError(f"members[{i}].person_id", "no such person"))
    if errors:
        raise InvalidInput(errors)


# -- review and decision -------------------------------------------------------------


async def open_review(
    actor: Principal,
    studio_id: int,
    *,
    min_reviewers: int | None,
    weights: dict[str, int] | None,
    min_floor: int,
) -> dict[str, Any]:
    async with unit_of_work():
        studio = await _lock(studio_id)
        rules.ensure_transition(studio["status"], rules.UNDER_REVIEW)
        case = await cases.open_case(
            actor,
            cases.NewCase(
                subject_type=rules.SUBJECT_TYPE,
                subject_id=studio_id,
                applicant_organisation_id=studio["host"],
                applied_at=studio["applied_at"],
                min_reviewers=min_reviewers,
                weights=weights,
            ),
            min_floor,
        )
        await _update(studio_id, status=rules.UNDER_REVIEW, review_case=case["id"])
        await record(
            actor.actor,
            "studio.review_opened",
            "studio",
            studio_id,
            before={"status": studio["status"]},
            after={"status": rules.UNDER_REVIEW, "review_case_id": case["id"]},
        )
    return await get(actor, studio_id)


async def establish(
    actor: Principal, studio_id: int, level: str, established_on: date
) -> dict[str, Any]:
    """Only after a complete review, by an officer who was not one of its reviewers,
    and while the master still qualifies (a certificate may have been revoked)."""
    today = local_today()
    async with unit_of_work():
        studio = await _lock(studio_id)
        rules.ensure_transition(studio["status"], rules.ESTABLISHED)
        rules.validate_establishment(level, established_on, local_date(studio["applied_at"]), today)
        case_id = studio["review_case"]
        await cases.ensure_not_reviewer(case_id, actor, what=f"establishing studio {studio_id}")
        case = await cases.require_complete(case_id)
        basis = await masters.master_basis(studio["master"], studio["occupation_code"], today)
        if basis is None:
            raise Conflict(f"the master no longer qualifies: {rules.MASTER_REASON}")
        await _update(
            studio_id,
            status=rules.ESTABLISHED,
            level=level,
            established_on=established_on,
            master_basis=basis,
            decided_by=actor.actor,
            decided_at=utcnow(),
        )
        await record(
            actor.actor,
            "studio.established",
            "studio",
            studio_id,
            before={"status": studio["status"]},
            after={
                "status": rules.ESTABLISHED,
                "level": level,
                "established_on": established_on.isoformat(),
                "review_case_id": case_id,
                "final_score": scoring.format_hundredths(case["final_score"]),
                "master_basis": basis,
            },
        )
        await enqueue("documents.render_studio", {"studio_id": studio_id}, created_by=actor.actor)
    return await get(actor, studio_id)


async def reject(actor: Principal, studio_id: int, reason: str) -> dict[str, Any]:
    """Before or during review. During review the four-eyes rule applies and reviewers
    who have not scored yet are released."""
    errors = rules.check_reason(reason)
    if errors:
        raise InvalidInput(errors)
    reason = reason.strip()
    async with unit_of_work():
        studio = await _lock(studio_id)
        rules.ensure_transition(studio["status"], rules.REJECTED)
        case_id = studio["review_case"]
        if case_id is not None:
            await cases.ensure_not_reviewer(case_id, actor, what=f"rejecting studio {studio_id}")
            await cases.cancel_case(actor, case_id, f"studio application rejected: {reason}")
        await _update(
            studio_id,
            status=rules.REJECTED,
            rejected_reason=reason,
            decided_by=actor.actor,
            decided_at=utcnow(),
        )
        await record(
            actor.actor,
            "studio.rejected",
            "studio",
            studio_id,
            before={"status": studio["status"]},
            after={"status": rules.REJECTED, "reason": reason},
        )
    return await get(actor, studio_id)


# -- after establishment -------------------------------------------------------------


async def assess(
    actor: Principal, studio_id: int, year: int, result: str, notes: str
) -> dict[str, Any]:
    """A yearly assessment. A failed one does not revoke the studio by itself: an
    officer decides that separately (POST .../revocation), with a reason."""
    today = local_today()
    notes = notes.strip()
    async with unit_of_work():
        studio = await _lock(studio_id)
        if studio["status"] != rules.ESTABLISHED:
            raise Conflict(
                f"only an established studio is assessed; this one is {studio['status']}"
            )
        rules.validate_assessment(year, result, notes, studio["established_on"], today)
        duplicate = f"studio {studio_id} already has an assessment for {year}"
        if (
            await StudioAssessment.exists()
            .where((StudioAssessment.studio == studio_id) & (StudioAssessment.year == year))
            .run()
        ):
            raise Conflict(duplicate, field="year")
        with conflict_on_duplicate(duplicate, "year"):
            rows = (
                await StudioAssessment.insert(
                    StudioAssessment(
                        studio=studio_id,
                        year=year,
                        result=result,
                        notes=notes,
                        recorded_by=actor.actor,
                    )
                )
                .returning(StudioAssessment.id)
                .run()
            )
        await _update(studio_id)
        await record(
            actor.actor,
            "studio.assessed",
            "studio",
            studio_id,
            after={"assessment_id": rows[0]["id"], "year": year, "result": result, "notes": notes},
        )
    return await get(actor, studio_id)


async def revoke(actor: Principal, studio_id: int, reason: str, revoked_on: date) -> dict[str, Any]:
    today = local_today()
    async with unit_of_work():
        studio = await _lock(studio_id)
        rules.ensure_transition(studio["status"], rules.REVOKED)
        rules.validate_revocation(reason, revoked_on, studio["established_on"], today)
        reason = reason.strip()
        await _update(
            studio_id,
            status=rules.REVOKED,
            revoked_on=revoked_on,
            revoked_reason=reason,
            revoked_by=actor.actor,
        )
        await record(
            actor.actor,
            "studio.revoked",
            "studio",
            studio_id,
            before={"status": studio["status"]},
            after={"status": rules.REVOKED, "revoked_on": revoked_on.isoformat(), "reason": reason},
        )
    return await get(actor, studio_id)


# -- reading -------------------------------------------------------------------------


async def get(actor: Principal, studio_id: int) -> dict[str, Any]:
    """Staff see every studio; a host organisation only its own (others: 404)."""
    studio = await Studio.select(*_DETAIL).where(Studio.id == studio_id).first().run()
    if studio is None:
        raise NotFound("studio not found", studio_id=studio_id)
    if not actor.is_staff and studio["host_organisation_id"] != actor.organisation_id:
        raise NotVisible("studio not found", studio_id=studio_id)
    studio["master_id_number"] = shown_id(actor, studio["master_id_number"])
    studio["members"] = await (
        StudioMember.select(
            StudioMember.person.as_alias("person_id"),
            StudioMember.person.name.as_alias("name"),
            StudioMember.role,
        )
        .where(StudioMember.studio == studio_id)
        .order_by(StudioMember.id)
        .run()
    )
    studio["assessments"] = await (
        StudioAssessment.select(
            StudioAssessment.year,
            StudioAssessment.result,
            StudioAssessment.notes,
            StudioAssessment.recorded_by,
            StudioAssessment.recorded_at,
        )
        .where(StudioAssessment.studio == studio_id)
        .order_by(StudioAssessment.year)
        .run()
    )
    return studio


async def list_visible(
    actor: Principal,
    *,
    status: str | None,
    level: str | None,
    town: str | None,
    occupation: str | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    errors = []
    if status is not None and status not in rules.STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(rules.STATUSES)}"))
    if level is not None and level not in rules.LEVELS:
        errors.append(FieldError("level", f"must be one of {', '.join(rules.LEVELS)}"))
    if town is not None and town not in TOWNS:
        errors.append(FieldError("town", "must be one of Dongguan's 33 towns, streets and parks"))
    if occupation is not None and not occupations.is_code(occupation):
        errors.append(FieldError("occupation", occupations.CODE_REASON))
    if errors:
        raise InvalidInput(errors)
    query = Studio.select(*_LISTED)
    if not actor.is_staff:
        query = query.where(Studio.host == actor.organisation_id)
    if status is not None:
        query = query.where(Studio.status == status)
    if level is not None:
        query = query.where(Studio.level == level)
    if town is not None:
        query = query.where(Studio.host.town == town)
    if occupation is not None:
        query = query.where(Studio.occupation_code == occupation)
    if after_id is not None:
        query = query.where(Studio.id > after_id)
    return await query.order_by(Studio.id).limit(limit).run()


async def _lock(studio_id: int) -> dict[str, Any]:
    """The studio row, locked for the transaction on PostgreSQL so two decisions on one
    studio queue up (SQLite's write lock already serialises them)."""
    query = Studio.select(
        Studio.id,
        Studio.host,
        Studio.master,
        Studio.occupation_code,
        Studio.status,
        Studio.review_case,
        Studio.established_on,
        Studio.applied_at,
    ).where(Studio.id == studio_id)
    studio = await for_update(query).first().run()
    if studio is None:
        raise NotFound("studio not found", studio_id=studio_id)
    return studio


async def _update(studio_id: int, **values: Any) -> None:
    await Studio.update({**values, "updated_at": utcnow()}).where(Studio.id == studio_id).run()
