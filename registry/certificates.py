"""Skill certificates: issuing (validation pure), reading, revoking, a person's history,
current levels and registration eligibility."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from accounts.roles import OrgType
from audit.log import record
from kernel.clock import local_today
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, NotVisible
from kernel.local_time import beijing
from registry import eligibility, insured_periods, occupations, people
from registry.certificate_events import CERTIFICATE_REVOKED
from registry.levels import Level, Route
from registry.organisations import for_update
from registry.tables import Certificate, Organisation, Person
from workers.outbox import enqueue

NUMBER_MAX = 40
REASON_MAX = 1000
VALID = "valid"
REVOKED = "revoked"

# Organisations that issue their own certificates (skill-level recognition).
ISSUING_TYPES = (OrgType.ENTERPRISE, OrgType.EVALUATION_ORGANISATION, OrgType.TECHNICAL_SCHOOL)
_DEFAULT_ROUTE = {
    OrgType.ENTERPRISE.value: Route.ENTERPRISE_SELF_EVALUATION,
    OrgType.TECHNICAL_SCHOOL.value: Route.TECHNICAL_SCHOOL,
}

COLUMNS = (
    Certificate.id,
    Certificate.person.as_alias("person_id"),
    Certificate.person.name.as_alias("person_name"),
    Certificate.person.id_number.as_alias("id_number"),
    Certificate.occupation_code,
    Certificate.occupation_name,
    Certificate.level,
    Certificate.number,
    Certificate.issuer.as_alias("issuer_id"),
    Certificate.issuer.name.as_alias("issuer_name"),
    Certificate.issued_on,
    Certificate.route,
    Certificate.status,
    Certificate.revoked_reason,
    Certificate.revoked_on,
    Certificate.revoked_by,
    Certificate.created_at,
)


@dataclass(frozen=True)
class NewCertificate:
    person_id: int
    occupation_code: str
    occupation_name: str
    level: int
    number: str
    issued_on: date
    route: str | None = None
    issuer_id: int | None = None


def default_route(issuer_type: str) -> str:
    return _DEFAULT_ROUTE.get(issuer_type, Route.SOCIAL_EVALUATION_ORGANISATION)


def validate(
    new: NewCertificate,
    *,
    birth_date: date | None,
    issuer_type: str | None,
    today: date,
) -> dict[str, Any]:
    """Every problem at once. `birth_date` None: no such person; `issuer_type` None: no
    such issuer. Returns the values to store."""
    errors: list[FieldError] = []
    if birth_date is None:
        errors.append(FieldError("person_id", "no such person"))
    if new.issuer_id is None:
        errors.append(FieldError("issuer_id", "required: the organisation that issued it"))
    elif issuer_type is None:
        errors.append(FieldError("issuer_id", "no such organisation"))
    code = new.occupation_code.strip()
    if not occupations.is_code(code):
        errors.append(FieldError("occupation_code", occupations.CODE_REASON))
    name = new.occupation_name.strip()
    if not 1 <= len(name) <= occupations.NAME_MAX:
        errors.append(
            FieldError("occupation_name", f"must be 1 to {occupations.NAME_MAX} characters")
        )
    if new.level not in {int(level) for level in Level}:
        errors.append(FieldError("level", "must be 1 (senior technician) to 5 (junior worker)"))
    number = new.number.strip()
    if not 1 <= len(number) <= NUMBER_MAX:
        errors.append(FieldError("number", f"must be 1 to {NUMBER_MAX} characters"))
    if new.issued_on > today:
        errors.append(FieldError("issued_on", "must not be in the future"))
    elif birth_date is not None and new.issued_on < birth_date:
        errors.append(FieldError("issued_on", "must not be before the person's birth"))
    route = new.route if new.route is not None else default_route(issuer_type or "")
    if route not in Route.ALL:
        errors.append(FieldError("route", f"must be one of {', '.join(Route.ALL)}"))
    if errors:
        raise InvalidInput(errors)
    return {
        "person": new.person_id,
        "occupation_code": code,
        "occupation_name": name,
        "level": new.level,
        "number": number,
        "issuer": new.issuer_id,
        "issued_on": new.issued_on,
        "route": route,
    }


def validate_revocation(
    reason: str, revoked_on: date | None, *, issued_on: date, today: date
) -> tuple[str, date]:
    errors: list[FieldError] = []
    reason = reason.strip()
    if not 1 <= len(reason) <= REASON_MAX:
        errors.append(FieldError("reason", f"required, at most {REASON_MAX} characters"))
    revoked_on = revoked_on or today
    if revoked_on > today:
        errors.append(FieldError("revoked_on", "must not be in the future"))
    elif revoked_on < issued_on:
        errors.append(FieldError("revoked_on", f"must not be before the issue date {issued_on}"))
    if errors:
        raise InvalidInput(errors)
    return reason, revoked_on


def highest_levels(certificates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per occupation, the highest level (lowest number) held on a valid certificate;
    of equal levels, the earliest issued (the date the level was reached)."""
    best: dict[str, Mapping[str, Any]] = {}
    for cert in certificates:
        if cert["status"] != VALID:
            continue
        key = cert["occupation_code"]
        rank = (cert["level"], cert["issued_on"], cert["id"])
        held = best.get(key)
        if held is None or rank < (held["level"], held["issued_on"], held["id"]):
            best[key] = cert
    return [
        {
            "occupation_code": c["occupation_code"],
            "occupation_name": c["occupation_name"],
            "level": c["level"],
            "level_zh": Level(c["level"]).zh,
            "level_en": Level(c["level"]).en,
            "certificate_id": c["id"],
            "number": c["number"],
            "issued_on": c["issued_on"],
        }
        for c in sorted(best.values(), key=lambda c: (c["level"], c["occupation_code"]))
    ]


# -- services ---------------------------------------------------------------------------


def _issuer_for(actor: Principal, new: NewCertificate) -> NewCertificate:
    """Staff name the issuer; an organisation issues its own certificates only."""
    if actor.is_staff:
        return new
    if new.issuer_id is not None and new.issuer_id != actor.organisation_id:
        raise Forbidden("an organisation issues only its own certificates")
    return NewCertificate(**{**new.__dict__, "issuer_id": actor.organisation_id})


async def _one(certificate_id: int) -> dict[str, Any]:
    row = await Certificate.select(*COLUMNS).where(Certificate.id == certificate_id).first().run()
    if row is None:
        raise NotFound("certificate not found", certificate_id=certificate_id)
    return row


async def issue(actor: Principal, new: NewCertificate) -> dict[str, Any]:
    new = _issuer_for(actor, new)
    person = await Person.select(Person.birth_date).where(Person.id == new.person_id).first().run()
    issuer = None
    if new.issuer_id is not None:
        issuer = (
            await Organisation.select(Organisation.org_type)
            .where(Organisation.id == new.issuer_id)
            .first()
            .run()
        )
    values = validate(
        new,
        birth_date=person["birth_date"] if person else None,
        issuer_type=issuer["org_type"] if issuer else None,
        today=local_today(),
    )
    duplicate = "this issuer has already issued a certificate with this number"
    async with unit_of_work():
        taken = Certificate.exists().where(
            (Certificate.issuer == values["issuer"]) & (Certificate.number == values["number"])
        )
        if await taken.run():
            raise Conflict(duplicate, field="number")
        with conflict_on_duplicate(duplicate, "number"):
            rows = (
                await Certificate.insert(Certificate(**values, created_by=actor.actor))
                .returning(Certificate.id)
                .run()
            )
        certificate_id = rows[0]["id"]
        await record(actor.actor, "certificate.issued", "certificate", certificate_id, after=values)
    return await _one(certificate_id)


async def get_visible(actor: Principal, certificate_id: int) -> dict[str, Any]:
    """Staff see every certificate; an organisation only those it issued."""
    cert = await _one(certificate_id)
    if not actor.is_staff and cert["issuer_id"] != actor.organisation_id:
        raise NotVisible("certificate not found", certificate_id=certificate_id)
    return cert


async def revoke(
    actor: Principal, certificate_id: int, reason: str, revoked_on: date | None
) -> tuple[dict[str, Any], int]:
    """Revokes a valid certificate; in the same unit of work, a job tells everything
    computed from it (registry.certificate_events). Returns the certificate and job id."""
    today = local_today()
    async with unit_of_work():
        query = Certificate.select(
            Certificate.status, Certificate.issued_on, Certificate.revoked_on
        ).where(Certificate.id == certificate_id)
        current = await for_update(query).first().run()
        if current is None:
            raise NotFound("certificate not found", certificate_id=certificate_id)
        if current["status"] == REVOKED:
            raise Conflict(f"this certificate was revoked on {current['revoked_on']} already")
        reason, revoked_on = validate_revocation(
            reason, revoked_on, issued_on=current["issued_on"], today=today
        )
        changes = {"status": REVOKED, "revoked_reason": reason, "revoked_on": revoked_on}
        stored = {getattr(Certificate, f): v for f, v in changes.items()}
        await (
            Certificate.update({**stored, Certificate.revoked_by: actor.actor})
            .where((Certificate.id == certificate_id) & (Certificate.status == VALID))
            .run()
        )
        await record(
            actor.actor,
            "certificate.revoked",
            "certificate",
            certificate_id,
            before={"status": VALID},
            after=changes,
        )
        job_id = await enqueue(
            CERTIFICATE_REVOKED, {"certificate_id": certificate_id}, created_by=actor.actor
        )
    return await _one(certificate_id), job_id


async def history(actor: Principal, person_id: int) -> list[dict[str, Any]]:
    """Newest first, revoked ones included. An organisation that may see the person sees
    only the certificates it issued, as with single certificates: the rest of a person's
    record is the bureau's."""
    await people.get_visible(actor, person_id)
    query = Certificate.select(*COLUMNS).where(Certificate.person == person_id)
    if not actor.is_staff:
        query = query.where(Certificate.issuer == actor.organisation_id)
    return await query.order_by(Certificate.issued_on, Certificate.id, ascending=False).run()


async def _all_of(person_id: int) -> list[dict[str, Any]]:
    return (
        await Certificate.select(
            Certificate.id,
            Certificate.occupation_code,
            Certificate.occupation_name,
            Certificate.level,
            Certificate.number,
            Certificate.issued_on,
            Certificate.status,
            Certificate.created_at,
        )
        .where(Certificate.person == person_id)
        .run()
    )


async def levels(actor: Principal, person_id: int) -> list[dict[str, Any]]:
    await people.get_visible(actor, person_id)
    return highest_levels(await _all_of(person_id))


async def registration_eligibility(
    actor: Principal, person_id: int, on: date
) -> eligibility.Assessment:
    """The 2012 scheme's clauses on `on`, for staff and organisations that see the person."""
    person = await people.get_visible(actor, person_id)
    school = None
    if person["graduate_school_id"] is not None:
        row = (
            await Organisation.select(
                Organisation.name, Organisation.org_type, Organisation.province
            )
            .where(Organisation.id == person["graduate_school_id"])
            .first()
            .run()
        )
        school = eligibility.School(row["name"], row["org_type"], row["province"])
    facts = eligibility.PersonFacts(
        birth_date=person["birth_date"],
        hukou=person["hukou"],
        insured_periods=insured_periods.periods_of(await insured_periods.list_for(person_id)),
        fresh_graduate=person["fresh_graduate"],
        graduate_school=person["graduate_school"],
        school=school,
        graduate_year=person["graduate_year"],
        imported_through=await insured_periods.imported_through(on),
    )
    held = [
        eligibility.CertificateFacts(
            level=c["level"],
            issued_on=c["issued_on"],
            recorded_on=beijing(c["created_at"]).date(),
            status=c["status"],
            number=c["number"],
            occupation_name=c["occupation_name"],
        )
        for c in await _all_of(person_id)
    ]
    return eligibility.assess(facts, held, on)
