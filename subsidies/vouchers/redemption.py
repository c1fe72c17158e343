"""Redeeming a voucher (a training institution enrols its holder on a course) and
cancelling one (an officer). Both are one conditional UPDATE from status `issued`:
of two concurrent redemptions exactly one wins, the other is told it was redeemed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput
from registry import occupations, resident_ids
from subsidies.vouchers import rules, views
from subsidies.vouchers.tables import Voucher

COURSE_MAX = 100
FEE_MAX_FEN = 10**10


@dataclass(frozen=True)
class Enrolment:
    id_number: str  # the holder's resident ID: guards against a mistyped voucher number
    course: str
    occupation_code: str
    course_level: int
    course_start: date
    course_fee_fen: int  # what the institution charges for the course; required


def check(enrolment: Enrolment) -> Enrolment:
    errors = []
    course = enrolment.course.strip()
    if not course:
        errors.append(FieldError("course", "required"))
    elif len(course) > COURSE_MAX:
        errors.append(FieldError("course", f"at most {COURSE_MAX} characters"))
    code = enrolment.occupation_code.strip()
    if not occupations.is_code(code):
        errors.append(FieldError("occupation_code", occupations.CODE_REASON))
    if not 1 <= enrolment.course_level <= 5:
        errors.append(FieldError("course_level", "a level is 1 (senior technician) to 5"))
    if not 0 < enrolment.course_fee_fen <= FEE_MAX_FEN:
        errors.append(FieldError("course_fee_fen", "the course fee in fen, more than 0"))
    if errors:
        raise InvalidInput(errors)
    return Enrolment(
        id_number=resident_ids.normalise(enrolment.id_number),
        course=course,
        occupation_code=code,
        course_level=enrolment.course_level,
        course_start=enrolment.course_start,
        course_fee_fen=enrolment.course_fee_fen,
    )


def _refuse(refusal: rules.Refusal) -> Exception:
    if refusal.conflict:
        return Conflict(refusal.reason, field=refusal.field)
    return InvalidInput.single(refusal.field, refusal.reason)


async def redeem(actor: Principal, number_text: str, enrolment: Enrolment) -> dict[str, Any]:
    assert actor.organisation_id is not None
    number = views.canonical_number(number_text)
    clean = check(enrolment)
    today = local_today()
    async with unit_of_work():
        voucher = await views.row_by_number(number)

        def refusal() -> rules.Refusal | None:
            return rules.redemption_refusal(
                status=voucher["status"],
                issued_on=voucher["issued_on"],
                expires=voucher["expires_on"],
                covers_levels=rules.parse_levels(voucher["covers_levels"]),
                today=today,
                course_level=clean.course_level,
                course_start=clean.course_start,
                id_matches=clean.id_number == voucher["id_number"],
                redeemed_on=voucher["redeemed_on"],
            )

        problem = refusal()
        if problem is not None:
            raise _refuse(problem)
        changes = {
            Voucher.status: rules.REDEEMED,
            Voucher.institution: actor.organisation_id,
            Voucher.redeemed_on: today,
            Voucher.redeemed_at: utcnow(),
            Voucher.redeemed_by: actor.actor,
            Voucher.course: clean.course,
            Voucher.occupation_code: clean.occupation_code,
            Voucher.course_level: clean.course_level,
            Voucher.course_start: clean.course_start,
            Voucher.course_fee_fen: clean.course_fee_fen,
        }
        won = (
            await Voucher.update(changes)
            .where(
                (Voucher.id == voucher["id"])
                & (Voucher.status == rules.ISSUED)
                & (Voucher.expires_on >= today)
            )
            .returning(Voucher.id)
            .run()
        )
        if not won:  # another redemption or a cancellation committed first
            voucher = await views.row_by_number(number)
            raise _refuse(
                refusal() or rules.Refusal("number", "this voucher changed; try again", True)
            )
        await record(
            actor.actor,
            "voucher.redeemed",
            "voucher",
            voucher["id"],
            before={"status": rules.ISSUED},
            after={
                "status": rules.REDEEMED,
                "institution_id": actor.organisation_id,
                "course": clean.course,
                "occupation_code": clean.occupation_code,
                "course_level": clean.course_level,
                "course_start": clean.course_start.isoformat(),
                "course_fee_fen": clean.course_fee_fen,
            },
        )
    return await views.get(actor, number)


async def cancel(actor: Principal, number_text: str, reason: str) -> dict[str, Any]:
    """An officer withdraws an unused voucher (issued in error, say). It keeps its
    place in the holder's year: cancelling does not make room for another."""
    number = views.canonical_number(number_text)
    reason = reason.strip()
    if not reason:
        raise InvalidInput.single("reason", "required")
    async with unit_of_work():
        voucher = await views.row_by_number(number)
        done = (
            await Voucher.update(
                {
                    Voucher.status: rules.CANCELLED,
                    Voucher.cancelled_at: utcnow(),
                    Voucher.cancelled_by: actor.actor,
                    Voucher.cancel_reason: reason,
                }
            )
            .where((Voucher.id == voucher["id"]) & (Voucher.status == rules.ISSUED))
            .returning(Voucher.id)
            .run()
        )
        if not done:
            current = await views.row_by_number(number)
            raise Conflict(
                f"only an unused voucher can be cancelled; this one is {current['status']}",
                field="number",
            )
        await record(
            actor.actor,
            "voucher.cancelled",
            "voucher",
            voucher["id"],
            before={"status": rules.ISSUED},
            after={"status": rules.CANCELLED, "reason": reason},
        )
    return await views.get(actor, number)
