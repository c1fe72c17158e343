"""Placements and monthly attendance reports over the database. Each reported month
becomes one Claim (scheme "internship") in the same unit of work as its audit entry and
the calculation run it queues.

Two guards keep an intern-month from being paid twice:
1. the claim's dedupe key "internship:{placement}:{YYYY-MM}" (the partial unique index
   on live claims): the same placement's month twice answers 409 naming the claim;
2. one live internship claim per person and calendar month, whichever host or
   programme reports it: a second host reporting the same person for the same month
   answers 409 naming the first claim. It is a check under a per-person lock
   (`lock_people`: a transaction-scoped advisory lock on PostgreSQL; SQLite's
   IMMEDIATE transactions already serialise writers), so two hosts reporting at once
   cannot both pass. A withdrawn or rejected claim frees its month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import conflict_on_duplicate, engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, NotVisible
from registry.tables import Organisation, Person
from registry.visibility import shown_id
from subsidies.claims import calculations, statuses
from subsidies.claims.submission import CALCULATE, NewClaim, insert_claim
from subsidies.claims.tables import Claim
from subsidies.internships import programme_rules, programmes, rules
from subsidies.internships.tables import Placement, Programme
from workers.outbox import enqueue

HOST_TYPES = (OrgType.ENTERPRISE,)
WRITERS = (StaffRole.OFFICER, StaffRole.ADMIN)
# Advisory lock keys of the person-month guard: this prefix in the high bits, the person
# id in the low 32 (other advisory locks, e.g. the audit sealer's, are small numbers).
PERSON_LOCK_BASE = 0x494E_0000_0000_0000

_COLUMNS = (
    Placement.id,
    Placement.host.as_alias("host_organisation_id"),
    Placement.host.name.as_alias("host_name"),
    Placement.person.as_alias("person_id"),
    Placement.person.name.as_alias("person_name"),
    Placement.person.id_number.as_alias("id_number"),
    Placement.school,
    Placement.programme_id,
    Placement.programme_id.name.as_alias("programme"),
    Placement.programme.as_alias("programme_text"),
    Placement.start_date,
    Placement.end_date,
    Placement.insurance_reference,
    Placement.insured_from,
    Placement.insured_to,
    Placement.created_by,
    Placement.created_at,
)


# -- who hosts -----------------------------------------------------------------------


async def host_for(actor: Principal, host_organisation_id: int | None) -> int:
    """An enterprise acts for itself; an officer or admin names the enterprise."""
    if not actor.is_staff:
        if actor.org_type not in HOST_TYPES:
            raise Forbidden("only enterprises host interns")
        if host_organisation_id not in (None, actor.organisation_id):
            raise InvalidInput.single(
                "host_organisation_id", "an enterprise acts for itself: leave this out"
            )
        assert actor.organisation_id is not None
        return actor.organisation_id
    if not actor.has_any(*WRITERS):
        raise Forbidden("this needs one of: officer, admin, enterprise")
    if host_organisation_id is None:
        raise InvalidInput.single(
            "host_organisation_id", "required when staff act for a host enterprise"
        )
    host = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == host_organisation_id)
        .first()
        .run()
    )
    if host is None:
        raise InvalidInput.single("host_organisation_id", "no such organisation")
    if host["org_type"] not in HOST_TYPES:
        raise InvalidInput.single("host_organisation_id", "the host must be an enterprise")
    return host_organisation_id


# -- placements ----------------------------------------------------------------------


async def register(
    actor: Principal, host_organisation_id: int | None, new: rules.NewPlacement
) -> dict[str, Any]:
    clean, errors = rules.clean_placement(new)
    if errors:
        raise InvalidInput(errors)
    host_id = await host_for(actor, host_organisation_id)
    async with unit_of_work():
        person = await Person.select(Person.id).where(Person.id == clean.person_id).first().run()
        if person is None:
            raise InvalidInput.single(
                "person_id", "no registered person has this id; register the person first"
            )
        programme = await programmes.chosen(clean.programme_id)
        outside = programme_rules.placement_outside(
            clean.start_date, clean.end_date, programme["start_date"], programme["end_date"]
        )
        if outside:
            raise InvalidInput(outside)
        held = (
            await Placement.select(Placement.id)
            .where(
                (Placement.host == host_id)
                & (Placement.person == clean.person_id)
                & (Placement.programme_id == clean.programme_id)
                & (Placement.start_date == clean.start_date)
            )
            .first()
            .run()
        )
        duplicate = "this intern is already registered with this host, programme and start date"
        if held is not None:
            raise Conflict(
                f"{duplicate} (placement {held['id']})",
                field="person_id",
                existing_placement_id=held["id"],
            )
        with conflict_on_duplicate(duplicate, "person_id"):
            rows = (
                await Placement.insert(
                    Placement(
                        host=host_id,
                        person=clean.person_id,
                        school=clean.school,
                        programme=programme["name"],
                        programme_id=clean.programme_id,
                        start_date=clean.start_date,
                        end_date=clean.end_date,
                        insurance_reference=clean.insurance_reference,
                        insured_from=clean.insured_from,
                        insured_to=clean.insured_to,
                        created_by=actor.actor,
                    )
                )
                .returning(Placement.id)
                .run()
            )
        placement_id = rows[0]["id"]
        await record(
            actor.actor,
            "internship.registered",
            "internship_placement",
            placement_id,
            after={
                "host_organisation_id": host_id,
                "person_id": clean.person_id,
                "school": clean.school,
                "programme_id": clean.programme_id,
                "programme": programme["name"],
                "start_date": clean.start_date.isoformat(),
                "end_date": clean.end_date.isoformat(),
                "insurance_reference": clean.insurance_reference,
                "insured_from": clean.insured_from.isoformat(),
                "insured_to": clean.insured_to.isoformat(),
            },
        )
    return await get(actor, placement_id)


async def update_insurance(
    actor: Principal, placement_id: int, reference: str, insured_from: date, insured_to: date
) -> dict[str, Any]:
    """The host records renewed or corrected insurance. Months already calculated keep
    their amounts until a calculation run recalculates them."""
    reference = " ".join(reference.split())
    errors = []
    if not reference:
        errors.append(FieldError("insurance_reference", "required"))
    elif len(reference) > rules.MAX_TEXT["insurance_reference"]:
        errors.append(FieldError("insurance_reference", "at most 60 characters"))
    if insured_to < insured_from:
        errors.append(FieldError("insured_to", "must not be before insured_from"))
    if errors:
        raise InvalidInput(errors)
    async with unit_of_work():
        placement = await _visible_row(actor, placement_id)
        _ensure_may_write(actor)
        await (
            Placement.update(
                {
                    Placement.insurance_reference: reference,
                    Placement.insured_from: insured_from,
                    Placement.insured_to: insured_to,
                    Placement.updated_at: utcnow(),
                }
            )
            .where(Placement.id == placement_id)
            .run()
        )
        await record(
            actor.actor,
            "internship.insurance_updated",
            "internship_placement",
            placement_id,
            before={
                "insurance_reference": placement["insurance_reference"],
                "insured_from": placement["insured_from"].isoformat(),
                "insured_to": placement["insured_to"].isoformat(),
            },
            after={
                "insurance_reference": reference,
                "insured_from": insured_from.isoformat(),
                "insured_to": insured_to.isoformat(),
            },
        )
    return await get(actor, placement_id)


def _ensure_may_write(actor: Principal) -> None:
    if actor.is_staff and not actor.has_any(*WRITERS):
        raise Forbidden("this needs one of: officer, admin, enterprise")


async def _visible_row(actor: Principal, placement_id: int) -> dict[str, Any]:
    row = await Placement.select().where(Placement.id == placement_id).first().run()
    if row is None:
        raise NotFound("internship placement not found", placement_id=placement_id)
    if not actor.is_staff and row["host"] != actor.organisation_id:
        raise NotVisible("internship placement not found", placement_id=placement_id)
    return row


async def get(actor: Principal, placement_id: int) -> dict[str, Any]:
    await _visible_row(actor, placement_id)
    row = await Placement.select(*_COLUMNS).where(Placement.id == placement_id).first().run()
    assert row is not None
    _shown(actor, row)
    row["months"] = await months_of(placement_id)
    return row


async def list_visible(
    actor: Principal,
    *,
    host_organisation_id: int | None,
    person_id: int | None,
    programme: str | None,
    programme_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = Placement.select(*_COLUMNS)
    if not actor.is_staff:
        query = query.where(Placement.host == actor.organisation_id)
    elif host_organisation_id is not None:
        query = query.where(Placement.host == host_organisation_id)
    if person_id is not None:
        query = query.where(Placement.person == person_id)
    if programme:
        query = query.where(Placement.programme_id.name == programme.strip())
    if programme_id is not None:
        query = query.where(Placement.programme_id == programme_id)
    if after_id is not None:
        query = query.where(Placement.id < after_id)
    rows = await query.order_by(Placement.id, ascending=False).limit(limit).run()
    for row in rows:
        _shown(actor, row)
    return rows


def _shown(actor: Principal, row: dict[str, Any]) -> None:
    row["id_number"] = shown_id(actor, row["id_number"])
    # A placement not mapped to a registered programme shows the name the host typed.
    row["programme"] = row["programme"] or row["programme_text"]


async def months_of(placement_id: int) -> list[dict[str, Any]]:
    """Every month reported for the placement (its claims, in any status)."""
    rows = (
        await Claim.select(
            Claim.id,
            Claim.status,
            Claim.basis_date,
            Claim.details,
            Claim.amount_fen,
            Claim.submitted_by,
            Claim.submitted_at,
        )
        .where(
            (Claim.scheme == rules.SCHEME)
            & Claim.dedupe_key.like(f"{rules.SCHEME}:{placement_id}:%")
        )
        .order_by(Claim.basis_date)
        .order_by(Claim.id)
        .run()
    )
    return [_month_out(r) for r in await calculations.merged_rows(rows)]


def _month_out(claim: dict[str, Any]) -> dict[str, Any]:
    details = json.loads(claim["details"] or "{}")
    return {
        "claim_id": claim["id"],
        "month": rules.month_text(claim["basis_date"]),
        "days_attended": details.get("days_attended"),
        "days_in_month": details.get("days_in_month"),
        "status": claim["status"],
        "amount_fen": claim["amount_fen"],
        "trace": json.loads(claim["trace"]) if claim["trace"] else None,
        "calculated_at": claim["calculated_at"],
        "submitted_by": claim["submitted_by"],
        "submitted_at": claim["submitted_at"],
    }


# -- monthly reports -----------------------------------------------------------------


@dataclass(frozen=True)
class MonthReport:
    """A checked month of one placement, ready to become a claim."""

    placement_id: int
    host_id: int
    person_id: int
    programme_id: int
    programme: str  # its name, for people reading the claim
    school: str
    first: date  # the month's first day
    days_attended: int

    def new_claim(self, submitted_by: str) -> NewClaim:
        return NewClaim(
            scheme=rules.SCHEME,
            dedupe_key=rules.dedupe_key(self.placement_id, self.first),
            basis_date=self.first,
            payee_kind="organisation",
            submitted_by=submitted_by,
            claimant_id=self.host_id,
            person_id=self.person_id,
            payee_organisation_id=self.host_id,
            details={
                "placement_id": self.placement_id,
                "programme_id": self.programme_id,
                "programme": self.programme,
                "school": self.school,
                "month": rules.month_text(self.first),
                "days_attended": self.days_attended,
                "days_in_month": rules.days_in_month(self.first),
            },
        )


async def report_month(
    actor: Principal, placement_id: int, month: str, days_attended: int
) -> dict[str, Any]:
    async with unit_of_work():
        placement = await _visible_row(actor, placement_id)
        _ensure_may_write(actor)
        first, errors = rules.check_month(
            month, days_attended, placement["start_date"], placement["end_date"], local_today()
        )
        if errors:
            raise InvalidInput(errors)
        assert first is not None
        programme_id = placement["programme_id"]
        if programme_id is None:
            raise Conflict(
                "this placement has no registered programme (its name could not be mapped); "
                "an officer maps it to one first (POST /api/v1/internship-programmes/"
                f"unmapped-placements/{placement_id}/mapping), so its months paid count",
                field="programme_id",
            )
        programme = await Programme.select(Programme.name).where(Programme.id == programme_id).run()
        report = MonthReport(
            placement_id=placement_id,
            host_id=placement["host"],
            person_id=placement["person"],
            programme_id=programme_id,
            programme=programme[0]["name"],
            school=placement["school"],
            first=first,
            days_attended=days_attended,
        )
        await lock_people([report.person_id])
        held = await person_months([(report.person_id, first)])
        other = held.get((report.person_id, first))
        if other is not None and other["dedupe_key"] != rules.dedupe_key(placement_id, first):
            raise Conflict(
                f"{rules.month_text(first)} of this intern is already claimed by claim "
                f"{other['id']} (another placement or host); an intern-month is paid once",
                field="month",
                existing_claim_id=other["id"],
            )
        claim_id = await insert_claim(report.new_claim(actor.actor))  # 409 on the same month
        await set_cap_keys({rules.cap_key(report.person_id, report.programme_id): [claim_id]})
        job_id = await enqueue(
            CALCULATE,
            {"scheme": rules.SCHEME, "claim_ids": [claim_id]},
            created_by=actor.actor,
            organisation_id=report.host_id,
        )
        await record(
            actor.actor,
            "internship.month_reported",
            "claim",
            claim_id,
            after={
                "placement_id": placement_id,
                "month": rules.month_text(first),
                "days_attended": days_attended,
                "calculation_job": job_id,
            },
        )
    months = await months_of(placement_id)
    out = next(m for m in months if m["claim_id"] == claim_id)
    return {**out, "placement_id": placement_id, "calculation_job_id": job_id}


async def lock_people(person_ids: list[int]) -> None:
    """Serialises reports of these people's months until the unit of work ends."""
    db = engine()
    if is_sqlite(db) or not person_ids:
        return  # BEGIN IMMEDIATE already holds the only write lock
    from piccolo.querystring import QueryString

    keys = sorted({PERSON_LOCK_BASE + int(p) for p in person_ids})
    # One round trip; ORDINALITY keeps the sorted order, so lockers never deadlock.
    await db.run_querystring(
        QueryString(
            "SELECT pg_advisory_xact_lock(k) FROM unnest({}::bigint[]) "
            "WITH ORDINALITY AS t(k, n) ORDER BY n",
            keys,
        )
    )


async def person_months(pairs: list[tuple[int, date]]) -> dict[tuple[int, date], dict[str, Any]]:
    """Live internship claims of these (person, month) pairs: pair -> the earliest claim
    (id, dedupe_key, claimant)."""
    found: dict[tuple[int, date], dict[str, Any]] = {}
    people = sorted({p for p, _ in pairs})
    wanted = set(pairs)
    for start in range(0, len(people), 500):
        rows = (
            await Claim.select(Claim.id, Claim.person, Claim.basis_date, Claim.dedupe_key)
            .where(
                (Claim.scheme == rules.SCHEME)
                & Claim.person.is_in(people[start : start + 500])
                & Claim.status.is_in(list(statuses.LIVE))
            )
            .order_by(Claim.id)
            .run()
        )
        for row in rows:
            key = (row["person"], row["basis_date"])
            if key in wanted and key not in found:
                found[key] = row
    return found


async def set_cap_keys(by_key: dict[str, list[int]]) -> None:
    """Stores each new claim's cap key at once (the calculation run writes the same), so
    a month not calculated yet already counts towards its intern's months."""
    for key, ids in by_key.items():
        for start in range(0, len(ids), 500):
            await (
                Claim.update({Claim.cap_key: key})
                .where(Claim.id.is_in(ids[start : start + 500]))
                .run()
            )
