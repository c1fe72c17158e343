"""Reimbursement: the institution that redeemed a voucher claims its value once it has
reported, through the registry's outcome reports, that the holder PASSED the course.

The claim is a scheme claim like any other (subsidies.claims): scheme
training_voucher, dedupe key `training_voucher:<voucher id>` (a voucher is claimed
once while a claim is live; a concurrent second claim gets 409 naming the first),
paid to the institution, basis date = the voucher's issue day (its own policy version
applies), budget year = the issue year (the voucher was that year's commitment). The
claims service inserts it, audits it and enqueues its calculation run in one unit of
work. `POST /api/v1/vouchers/{number}/claim` and the generic `POST /api/v1/claims`
(claim_kind.py) build the same claim here.

Which outcome counts: one the same institution reported for the holder, with the
course name and occupation code given at redemption, passed, and ending on or after
the course start given at redemption (an earlier run of the same course does not).
The calculation checks again that the outcome is still a passed one. An outcome whose
certificate was revoked does not count (revoking it holds an unpaid claim; rejecting the
held claim frees the voucher's dedupe key, and the voucher must not be paid after all).
"""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from kernel.clock import local_today
from kernel.errors import Conflict, InvalidInput, NotVisible
from registry.certificates import REVOKED
from registry.tables import TrainingOutcome
from subsidies.claims import service as claims
from subsidies.claims.submission import NewClaim
from subsidies.vouchers import rules, views
from subsidies.vouchers.issuing import SCHEME

NO_PASSED_OUTCOME = (
    "no passed outcome is reported for this person on this course (same course name and "
    "occupation code as the redemption, ending on or after its start); report it through "
    "/api/v1/outcome-reports first"
)


CERTIFICATE_REVOKED = (
    "the certificate this course led to was revoked; a course whose certificate was "
    "revoked is not reimbursed"
)


async def _passed_outcomes(voucher: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        await TrainingOutcome.select(
            TrainingOutcome.id,
            TrainingOutcome.end_date,
            TrainingOutcome.certificate,
            TrainingOutcome.certificate.status.as_alias("certificate_status"),
        )
        .where(
            (TrainingOutcome.institution == voucher["institution_id"])
            & (TrainingOutcome.person == voucher["person_id"])
            & (TrainingOutcome.course == voucher["course"])
            & (TrainingOutcome.occupation_code == voucher["occupation_code"])
            & (TrainingOutcome.passed == True)  # noqa: E712 (a column comparison)
            & (TrainingOutcome.end_date >= voucher["course_start"])
        )
        .order_by(TrainingOutcome.end_date, ascending=False)
        .order_by(TrainingOutcome.id, ascending=False)
        .run()
    )


async def build(
    institution_id: int,
    number_text: str,
    outcome_id: int | None,
    *,
    submitted_by: str,
    number_field: str = "number",
    outcome_field: str = "outcome_id",
) -> NewClaim:
    """The claim for a voucher this institution redeemed (reads only; raises with the
    reason when there is none to make). Another institution's voucher answers 404."""
    number, reason = views.parse_number(number_text)
    if number is None:
        raise InvalidInput.single(number_field, reason)
    voucher = await views.row_by_number(number)
    if voucher["institution_id"] not in (None, institution_id):
        raise NotVisible("no voucher with this number", number=number)
    if voucher["status"] != rules.REDEEMED:
        shown = rules.shown_status(voucher["status"], voucher["expires_on"], local_today())
        raise Conflict(
            f"only a voucher this institution redeemed can be claimed; this one is {shown}",
            field=number_field,
        )
    outcomes = await _passed_outcomes(voucher)
    if outcome_id is not None:
        outcomes = [o for o in outcomes if o["id"] == outcome_id]
        if not outcomes:
            raise InvalidInput.single(
                outcome_field,
                "not a passed outcome this institution reported for the voucher's holder "
                "and course",
            )
    if not outcomes:
        raise Conflict(NO_PASSED_OUTCOME, field="outcome")
    # A course whose certificate was revoked is not paid for: revoking it held the
    # claim, and rejecting that claim must not let the voucher be claimed again.
    outcomes = [o for o in outcomes if o["certificate_status"] != REVOKED]
    if not outcomes:
        raise Conflict(CERTIFICATE_REVOKED, field=outcome_field)
    outcome = outcomes[0]
    return NewClaim(
        scheme=SCHEME,
        dedupe_key=views.dedupe_key(voucher["id"]),
        basis_date=voucher["issued_on"],
        payee_kind="organisation",
        submitted_by=submitted_by,
        claimant_id=institution_id,
        person_id=voucher["person_id"],
        payee_organisation_id=institution_id,
        # A certificate the course led to: revoking it holds the unpaid reimbursement.
        certificate_id=outcome["certificate"],
        budget_year=voucher["issued_on"].year,
        details={
            "voucher_id": voucher["id"],
            "voucher_number": number,
            "outcome_id": outcome["id"],
            "course": voucher["course"],
            "occupation_code": voucher["occupation_code"],
            "course_level": voucher["course_level"],
            "course_fee_fen": voucher["course_fee_fen"],
        },
    )


async def claim(actor: Principal, number_text: str, outcome_id: int | None) -> dict[str, Any]:
    assert actor.organisation_id is not None
    new = await build(actor.organisation_id, number_text, outcome_id, submitted_by=actor.actor)
    claim_id = await claims.submit(actor, new)
    return {
        "claim_id": claim_id,
        "voucher_number": new.details["voucher_number"],
        "outcome_id": new.details["outcome_id"],
    }
