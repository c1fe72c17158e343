"""Claim rules as pure functions: no database, no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kernel.errors import Conflict, FieldError, InvalidInput
from subsidies.claims import statuses
from subsidies.policies.documents import InternshipParameters, Policy, SkillLevelParameters

REASON_MAX = 1_000
BULK_MAX = 500  # claims one bulk decision may name; each is its own unit of work
BUDGET_MAX_FEN = 10**14  # 1 trillion yuan: anything above is a typing error
YEAR_MIN, YEAR_MAX = 2000, 2100
PERSON = "person"
ORGANISATION = "organisation"


def cap_for(policy: Policy) -> int | None:
    """The cap (fen) that spans claims sharing a cap_key under this policy version, or
    None when the scheme has none: internship caps per intern per programme, the
    skill-level subsidy per person across every occupation and claim."""
    parameters = policy.parameters
    if isinstance(parameters, InternshipParameters):
        return parameters.cap_per_intern_fen
    if isinstance(parameters, SkillLevelParameters):
        return parameters.cap_per_person_fen
    return None


def yuan_text(fen: int | None) -> str | None:
    """Fen as yuan for people to read: "9,000.00". Exact: integer division, no floats,
    so nothing is rounded."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def check_reason(reason: str, field: str = "reason") -> str:
    """A rejection needs a reason someone can act on."""
    text = reason.strip()
    if not text:
        raise InvalidInput.single(field, "required: say why the claim is rejected")
    if len(text) > REASON_MAX:
        raise InvalidInput.single(field, f"must be at most {REASON_MAX} characters")
    return text


def bulk_ids(claim_ids: Iterable[int]) -> list[int]:
    """The ids of a bulk decision in the order given, each once."""
    ids = list(dict.fromkeys(claim_ids))
    if not ids:
        raise InvalidInput.single("claim_ids", "name at least one claim")
    if len(ids) > BULK_MAX:
        raise InvalidInput.single("claim_ids", f"at most {BULK_MAX} claims at once")
    return ids


def check_budget(scheme: str, year: int, amount_fen: int, known_schemes: Iterable[str]) -> None:
    errors = []
    known = tuple(known_schemes)
    if scheme not in known:
        errors.append(FieldError("scheme", f"unknown scheme; known: {', '.join(known)}"))
    if not YEAR_MIN <= year <= YEAR_MAX:
        errors.append(FieldError("year", f"must be between {YEAR_MIN} and {YEAR_MAX}"))
    if not 0 <= amount_fen <= BUDGET_MAX_FEN:
        errors.append(FieldError("amount_fen", f"must be between 0 and {BUDGET_MAX_FEN} fen"))
    if errors:
        raise InvalidInput(errors)


def budget_below_committed(scheme: str, year: int, amount_fen: int, committed_fen: int) -> Conflict:
    return Conflict(
        f"budget {scheme} {year}: {yuan_text(committed_fen)} yuan is already committed by "
        f"approved claims; the budget cannot be set to {yuan_text(amount_fen)}",
        field="amount_fen",
    )


def beneficiary_organisation(claim: dict[str, Any]) -> int | None:
    """The organisation that confirms where a proposed claim's money goes: the payee
    organisation, or for a payment to a person, the claimant (the employer)."""
    if claim["payee_kind"] == ORGANISATION:
        return claim["payee_organisation"]
    return claim["claimant"]


def involved_organisations(claim: dict[str, Any]) -> list[int]:
    """The claimant and the payee organisation: an organisation sees these claims, and an
    officer linked to either may not decide them."""
    found = [claim["claimant"], claim["payee_organisation"]]
    return list(dict.fromkeys(o for o in found if o is not None))


def not_in_status(claim_id: int, status: str, wanted: Iterable[str], doing: str) -> Conflict:
    wanted = tuple(wanted)
    return Conflict(
        f"claim {claim_id} is {status}; only a claim that is {' or '.join(wanted)} can be {doing}",
        field="status",
        status=status,
    )


def ensure_withdrawable(claim_id: int, status: str) -> None:
    if status not in statuses.WITHDRAWABLE:
        raise not_in_status(claim_id, status, statuses.WITHDRAWABLE, "withdrawn")


def ensure_decidable(claim_id: int, status: str) -> None:
    """Approval: a calculated claim only."""
    if status not in statuses.DECIDABLE:
        raise not_in_status(claim_id, status, statuses.DECIDABLE, "approved")


def ensure_rejectable(claim_id: int, status: str) -> None:
    if status not in statuses.REJECTABLE:
        raise not_in_status(claim_id, status, statuses.REJECTABLE, "rejected")


def approved_before_hold(claim: dict[str, Any]) -> bool:
    """Whether a claim on hold was approved before it was held, so its approval took a
    share of a cap and the budget. Approval is the only move that sets decided_at on a
    claim that can be held (a rejection sets it too, but a rejected claim is never held),
    and the hold leaves it as it is."""
    return claim["status"] == statuses.ON_HOLD and claim["decided_at"] is not None


def in_batch(claim_id: int, batch_id: int, number: str | None) -> Conflict:
    name = number or f"id {batch_id}"
    return Conflict(
        f"claim {claim_id} is in disbursement batch {name}: it is rejected once the batch "
        "lets it go (cancel a submitted batch, release a failed one, or import the bank's "
        f"return file into an approved one); see /api/v1/batches/{batch_id}",
        field="batch_id",
        batch_id=batch_id,
        batch_number=number,
    )


def amount_changed_since_calculated(
    claim_id: int, amount_fen: int | None, priced_fen: int
) -> Conflict:
    """A held claim whose amount is no longer the one its calculation priced and its
    approval committed: giving back its amount would move the ledger by an edit."""
    return Conflict(
        f"claim {claim_id} holds {yuan_text(amount_fen)} yuan but was calculated and approved "
        f"at {yuan_text(priced_fen)}: its amount was changed after approval, so the share of "
        "the cap and budget to give back is unclear; the amount must be put right before the "
        "claim is rejected",
        field="amount_fen",
        amount_fen=amount_fen,
        calculated_fen=priced_fen,
    )
