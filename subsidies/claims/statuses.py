"""Claim statuses and the moves between them (pure)."""

from __future__ import annotations

PROPOSED = "proposed"  # found by the automatic scan; the beneficiary confirms the account
SUBMITTED = "submitted"  # waiting for a calculation run
# Has an amount; waiting for an officer. Never stored: a SUBMITTED claim with a row in
# claim_calculation is shown as calculated (see `shown`).
CALCULATED = "calculated"
APPROVED = "approved"  # committed against caps and budget; waiting for a batch
REJECTED = "rejected"
ON_HOLD = "on_hold"  # its basis (a certificate, an award) was revoked before payment
PAID = "paid"
WITHDRAWN = "withdrawn"

ALL = (PROPOSED, SUBMITTED, CALCULATED, APPROVED, REJECTED, ON_HOLD, PAID, WITHDRAWN)
# Claims that still count: they hold their dedupe key and their share of a cap.
LIVE = (PROPOSED, SUBMITTED, CALCULATED, APPROVED, ON_HOLD, PAID)
WITHDRAWABLE = (PROPOSED, SUBMITTED, CALCULATED)
DECIDABLE = (CALCULATED,)  # approved (rejected too: see REJECTABLE)
# Rejected: a calculated claim, or one on hold (its basis was revoked, so an officer
# refuses the money; one approved before the hold gives back what approval committed).
REJECTABLE = (CALCULATED, ON_HOLD)
# Amounts already granted against a cap or a budget.
COMMITTED = (APPROVED, ON_HOLD, PAID)


def shown(stored_status: str, calculated: bool) -> str:
    """The status a claim has for its users."""
    return CALCULATED if stored_status == SUBMITTED and calculated else stored_status


def stored(wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The stored statuses of claims shown in one of `wanted` (for a conditional UPDATE;
    the caller has checked whether the claim is calculated)."""
    return tuple(dict.fromkeys(SUBMITTED if s == CALCULATED else s for s in wanted))
