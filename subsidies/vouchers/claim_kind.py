"""Voucher reimbursement through the generic `POST /api/v1/claims` (scheme
training_voucher, details {"voucher_number": ..., "outcome_id": optional}): the same
claim, checked the same way, as `POST /api/v1/vouchers/{number}/claim`."""

from __future__ import annotations

from accounts.principal import Principal
from accounts.roles import OrgType
from kernel.errors import FieldError, InvalidInput
from subsidies.claims.claim_kinds import ClaimRequest, DetailField, register_claim_kind
from subsidies.claims.submission import NewClaim
from subsidies.vouchers import reimbursement
from subsidies.vouchers.issuing import SCHEME

FIELDS = (
    DetailField("voucher_number", "培训券编号", "Voucher number", "text", True, "as printed"),
    DetailField(
        "outcome_id",
        "培训结果ID",
        "Outcome ID",
        "id",
        False,
        "blank: the passed outcome reported for the holder is found",
    ),
)
DETAILS = tuple(f.key for f in FIELDS)


async def build(actor: Principal, request: ClaimRequest) -> NewClaim:
    details = request.details
    errors = [
        FieldError(f"details.{key}", f"unknown field; known: {', '.join(DETAILS)}")
        for key in details
        if key not in DETAILS
    ]
    number = details.get("voucher_number")
    if not isinstance(number, str) or not number.strip():
        errors.append(FieldError("details.voucher_number", "required: the voucher's number"))
    outcome_id = details.get("outcome_id")
    if outcome_id is not None and not (
        isinstance(outcome_id, int) and not isinstance(outcome_id, bool) and outcome_id > 0
    ):
        errors.append(FieldError("details.outcome_id", "the id of a reported outcome"))
    if errors:
        raise InvalidInput(errors)
    assert isinstance(number, str)
    new = await reimbursement.build(
        request.claimant_id,
        number,
        outcome_id,
        submitted_by=actor.actor,
        number_field="details.voucher_number",
        outcome_field="details.outcome_id",
    )
    if request.person_id is not None and request.person_id != new.person_id:
        raise InvalidInput.single("person_id", "not the holder of this voucher")
    return new


register_claim_kind(
    SCHEME, build, claimant_types=(OrgType.TRAINING_INSTITUTION.value,), details=FIELDS
)
