"""Claim statuses and the moves between them (pure)."""

from __future__ import annotations

PROPOSED = "proposed"  # found by the automatic scan; the beneficiary confirms the account
SUBMITTED = "submitted"  # waiting for a calculation run
CALCULATED = "calculated"  # has an amount; waiting for an officer
APPROVED = "approved"  # committed against caps and budget; waiting for a batch
REJECTED = "rejected"
ON_HOLD = "on_hold"  # its basis (a certificate, an award) was revoked before payment
PAID = "paid"
WITHDRAWN = "withdrawn"

ALL = (PROPOSED, SUBMITTED, CALCULATED, APPROVED, REJECTED, ON_HOLD, PAID, WITHDRAWN)
# Claims that still count: they hold their dedupe key and their share of a cap.
LIVE = (PROPOSED, SUBMITTED, CALCULATED, APPROVED, ON_HOLD, PAID)
WITHDRAWABLE = (PROPOSED, SUBMITTED, CALCULATED)
DECIDABLE = (CALCULATED,)
# Amounts already granted against a cap or a budget.
COMMITTED = (APPROVED, ON_HOLD, PAID)
