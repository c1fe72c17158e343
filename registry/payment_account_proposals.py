"""An employer proposes an employee's payment account (directly, or by confirming a
claim with an account other than the one on record); an officer confirms it (which
records it through registry.payment_accounts.record, with its four-eyes rule for a
change while a claim is unpaid) or rejects it with a reason. A proposal changes
nothing by itself: an employer must not be able to redirect an employee's subsidy."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from audit.log import record as audit
from kernel.clock import local_today, utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, InvalidInput, NotFound, NotVisible
from registry import payment_accounts
from registry.organisations import for_update, mask_account
from registry.tables import Employment, PaymentAccountProposal, Person

PENDING = "pending"
CONFIRMED = "confirmed"
REJECTED = "rejected"
REASON_MAX = 500


async def _employs(organisation_id: int, person_id: int) -> bool:
    today = local_today()
    return await Employment.exists().where(
        (Employment.person == person_id)
        & (Employment.employer == organisation_id)
        & (Employment.started_on <= today)
        & (Employment.ended_on.is_null() | (Employment.ended_on >= today))
    ).run()  # fmt: skip


def _audited(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "person": row["person"],
        "organisation": row["organisation"],
        "bank_name": row["bank_name"],
        "bank_code": row["bank_code"],
        "bank_account": mask_account(row["bank_account"]),
        "kind": row["kind"],
    }


async def propose(
    actor: Principal, person_id: int, account: payment_accounts.PaymentAccount
) -> dict[str, Any]:
    """By an organisation that employs the person now; others get 404, as for any person
    they are not linked to."""
    person = await Person.select(Person.id, Person.name).where(Person.id == person_id).first().run()
    if person is None:
        raise NotFound("person not found", person_id=person_id)
    org = actor.organisation_id
    if org is None or not await _employs(org, person_id):
        raise NotVisible("person not found", person_id=person_id)
    clean = payment_accounts.validate(account, person["name"])
    async with unit_of_work():
        return await _insert(actor, person_id, org, clean)


async def propose_for_claim(
    actor: Principal, person_id: int, organisation_id: int, clean: payment_accounts.PaymentAccount
) -> dict[str, Any]:
    """An account the organisation gave when confirming a claim for the person (the
    claims service has checked it is the claim's beneficiary and validated the account),
    in the caller's unit of work. Giving the same account again finds the proposal
    still pending instead of adding another."""
    async with unit_of_work():
        pending = await PaymentAccountProposal.select().where(
            (PaymentAccountProposal.person == person_id)
            & (PaymentAccountProposal.organisation == organisation_id)
            & (PaymentAccountProposal.status == PENDING)
            & (PaymentAccountProposal.bank_name == clean.bank_name)
            & (PaymentAccountProposal.bank_account == clean.bank_account)
        ).first().run()  # fmt: skip
        if pending is not None:
            return pending
        return await _insert(actor, person_id, organisation_id, clean)


async def _insert(
    actor: Principal, person_id: int, org: int, clean: payment_accounts.PaymentAccount
) -> dict[str, Any]:
    rows = await PaymentAccountProposal.insert(
        PaymentAccountProposal(
            person=person_id, organisation=org, bank_name=clean.bank_name,
            bank_code=clean.bank_code, bank_account=clean.bank_account, kind=clean.kind,
            status=PENDING, proposed_by=actor.actor, proposed_at=utcnow(),
        )
    ).returning(*PaymentAccountProposal.all_columns()).run()  # fmt: skip
    proposal = rows[0]
    await audit(
        actor.actor, "person.payment_account_proposed", "payment_account_proposal",
        proposal["id"], after=_audited(proposal),
    )  # fmt: skip
    return proposal


async def of_person(person_id: int) -> list[dict[str, Any]]:
    return await (
        PaymentAccountProposal.select()
        .where(PaymentAccountProposal.person == person_id)
        .order_by(PaymentAccountProposal.id, ascending=False)
        .limit(100)
        .run()
    )


async def _pending(person_id: int, proposal_id: int) -> dict[str, Any]:
    query = PaymentAccountProposal.select().where(
        (PaymentAccountProposal.id == proposal_id) & (PaymentAccountProposal.person == person_id)
    )
    row = await for_update(query).first().run()
    if row is None:
        raise NotFound("payment account proposal not found", proposal_id=proposal_id)
    if row["status"] != PENDING:
        raise Conflict(
            f"payment account proposal {proposal_id} is {row['status']}, not pending",
            field="status",
        )
    return row


async def _decide(actor: Principal, row: dict[str, Any], status: str, reason: str | None) -> dict:
    changes = {"status": status, "decided_by": actor.actor, "decided_at": utcnow(),
               "reject_reason": reason}  # fmt: skip
    await PaymentAccountProposal.update(
        {getattr(PaymentAccountProposal, k): v for k, v in changes.items()}
    ).where(PaymentAccountProposal.id == row["id"]).run()  # fmt: skip
    await audit(
        actor.actor, f"person.payment_account_proposal_{status}", "payment_account_proposal",
        row["id"], before={"status": PENDING}, after={"status": status, "reason": reason},
    )  # fmt: skip
    return {**row, **changes}


async def confirm(actor: Principal, person_id: int, proposal_id: int) -> dict[str, Any]:
    """Records the proposed account as the officer's change."""
    async with unit_of_work():
        row = await _pending(person_id, proposal_id)
        account = payment_accounts.PaymentAccount(
            row["bank_name"], row["bank_account"], row["bank_code"], None, row["kind"]
        )
        await payment_accounts.record(
            actor, person_id, account, via=f"employer_proposal:{proposal_id}"
        )
        return await _decide(actor, row, CONFIRMED, None)


async def reject(actor: Principal, person_id: int, proposal_id: int, reason: str) -> dict:
    reason = reason.strip()
    if not 2 <= len(reason) <= REASON_MAX:
        raise InvalidInput.single("reason", f"must be 2 to {REASON_MAX} characters")
    async with unit_of_work():
        row = await _pending(person_id, proposal_id)
        return await _decide(actor, row, REJECTED, reason)
