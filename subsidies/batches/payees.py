"""Who a claim pays and into which account (pure). A payment to a person goes to the
financial account of their social security card (registry Person); to an organisation,
to the account an officer recorded for it (registry Organisation).

A claim whose payee has no complete account is left out of a batch, and the preview
lists it with the reason: a bank refuses a payment without an account, and a batch
must hold only lines that can be paid. The claim stays approved and unbatched, so the
next batch picks it up once the account is recorded. So is a claim of a person whose
account was changed while a claim of theirs was unpaid, until a second officer
confirms the change (registry.payment_accounts): the classic redirect of someone
else's money."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PERSON = "person"
ORGANISATION = "organisation"


@dataclass(frozen=True)
class Payee:
    kind: str
    name: str
    account: str
    bank: str
    bank_code: str | None  # CNAPS 联行号, when known
    person_id: int | None
    organisation_id: int | None


def payee_of(claim: dict[str, Any]) -> Payee | str:
    """The payee of a claim row (joined with its person and payee organisation), or
    the reason it cannot be paid."""
    if claim["payee_kind"] == PERSON:
        if claim["person"] is None:
            return "the claim names no person to pay"
        if claim["person_account_unconfirmed_by"]:
            return (
                "the person's bank account was changed while a claim of theirs was unpaid; "
                "another officer must confirm the change (POST /api/v1/people/"
                f"{claim['person']}/payment-account/confirmation)"
            )
        return _complete(
            PERSON, claim["person_name"], claim["person_bank_account"],
            claim["person_bank_name"], claim["person_bank_code"], claim["person"], None,
        )  # fmt: skip
    if claim["payee_kind"] == ORGANISATION:
        if claim["payee_organisation"] is None:
            return "the claim names no organisation to pay"
        return _complete(
            ORGANISATION,
            claim["organisation_account_name"] or claim["organisation_name"],
            claim["organisation_bank_account"],
            claim["organisation_bank_name"],
            claim["organisation_bank_code"],
            None,
            claim["payee_organisation"],
        )
    return f"unknown payee kind {claim['payee_kind']!r}"


def _complete(
    kind: str, name: str | None, account: str | None, bank: str | None, bank_code: str | None,
    person_id: int | None, organisation_id: int | None,
) -> Payee | str:  # fmt: skip
    missing = [
        what
        for what, value in (("name", name), ("bank account", account), ("bank", bank))
        if not (value or "").strip()
    ]
    if missing:
        return f"the {kind} has no {' and no '.join(missing)} on record"
    assert name and account and bank
    return Payee(
        kind, name.strip(), account.strip(), bank.strip(), bank_code or None,
        person_id, organisation_id,
    )  # fmt: skip
