"""Claims over their tables: submitting, withdrawing, confirming the account of a
proposed claim, officers' decisions (singly and in bulk) against caps and budgets, and
who sees which claim.

Approval is one unit of work: the conditional UPDATE that moves the claim from
calculated to approved (so two officers racing for one claim cannot both approve it),
the cap, the budget and the audit entry commit or roll back together. Caps and budgets
are taken with conditional UPDATEs (subsidies.claims.ledger), so concurrent approvals
cannot overspend them on either engine.

A claim on hold (its certificate or award was revoked) leaves the hold only by an
officer's rejection, through the same routes as any rejection. One approved before the
hold gives back, in the rejection's unit of work, exactly what its approval took from
its cap and budget; one still in a disbursement batch is refused until the batch lets
it go (the bank may be paying it).

A bulk decision runs each claim in its own unit of work rather than one transaction
with a savepoint per claim: a refusal rolls back only that claim, each approval holds
the cap and budget rows only for its own short transaction (on SQLite the single write
lock is released between claims, so other requests are not stalled behind a long
batch), and the same code path serves one claim and many. The price: a bulk decision is
not all-or-nothing, which is what its per-claim report says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from piccolo.columns.combination import WhereRaw

from accounts.four_eyes import ensure_not_preparer
from accounts.principal import Principal
from audit.log import record, record_denial
from kernel.clock import local_today, utcnow
from kernel.db import unit_of_work
from kernel.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotVisible,
)
from kernel.masking import mask_ids_in_text
from registry import organisations, payment_account_proposals, payment_accounts
from registry.organisations import BankAccount, mask_account
from registry.tables import Organisation, Person
from registry.visibility import sees_full_id, shown_id
from reviews import affiliations
from subsidies.batches.tables import DisbursementBatch
from subsidies.claims import calculations, claim_kinds, ledger, rules, statuses
from subsidies.claims.submission import CALCULATE, NewClaim, existing, insert_claim, insert_claims
from subsidies.claims.tables import Claim
from subsidies.internships import programmes as internship_programmes
from subsidies.policies import documents
from subsidies.policies.tables import PolicyVersion
from workers import outbox

_LISTED = (
    Claim.id,
    Claim.scheme,
    Claim.origin,
    Claim.status,
    Claim.claimant.as_alias("claimant_organisation_id"),
    Claim.claimant.name.as_alias("claimant_name"),
    Claim.person.as_alias("person_id"),
    Claim.person.name.as_alias("person_name"),
    Claim.person.id_number.as_alias("person_id_number"),
    Claim.payee_kind,
    Claim.payee_organisation.as_alias("payee_organisation_id"),
    Claim.basis_date,
    Claim.budget_year,
    Claim.amount_fen,
    Claim.submitted_at,
    Claim.decided_at,
)
_DETAIL = (
    *_LISTED,
    Claim.dedupe_key,
    Claim.certificate.as_alias("certificate_id"),
    Claim.details,
    Claim.policy_version.as_alias("policy_version_id"),
    Claim.policy_version.scheme.as_alias("policy_scheme"),
    Claim.policy_version.version.as_alias("policy_version"),
    Claim.cap_key,
    Claim.submitted_by,
    Claim.account_confirmed_by,
    Claim.account_confirmed_at,
    Claim.decided_by,
    Claim.reject_reason,
    Claim.hold_reason,
    Claim.recovery_reason,
    Claim.withdrawn_at,
    Claim.paid_at,
    Claim.batch_id,
    Claim.updated_at,
)


# -- creating claims -----------------------------------------------------------------


async def enqueue_calculation(
    scheme: str, claim_ids: list[int], *, created_by: str, organisation_id: int | None = None
) -> int:
    """A calculation run over these claims, in the caller's unit of work."""
    return await outbox.enqueue(
        CALCULATE,
        {"scheme": scheme, "claim_ids": sorted(claim_ids)},
        created_by=created_by,
        organisation_id=organisation_id,
    )


async def submit(actor: Principal, new: NewClaim) -> int:
    """One claim in its own unit of work: inserted, audited, its calculation enqueued
    (unless it is proposed). A live claim for the same dedupe_key answers 409 naming it,
    also when a concurrent submission won the race."""
    try:
        async with unit_of_work():
            claim_id = await insert_claim(new)
            await record(actor.actor, "claim.submitted", "claim", claim_id, after=_audit_new(new))
            if new.status == statuses.SUBMITTED:
                await enqueue_calculation(
                    new.scheme, [claim_id], created_by=actor.actor, organisation_id=new.claimant_id
                )
    except Conflict as exc:
        if exc.details.get("field") != "dedupe_key" or "existing_claim_id" in exc.details:
            raise
        # The unique index refused a concurrent duplicate; its row has committed.
        held = await existing([new.dedupe_key])
        if new.dedupe_key not in held:
            raise
        raise duplicate(new.dedupe_key, held[new.dedupe_key]) from None
    return claim_id


async def create_claims(
    actor_label: str,
    new: list[NewClaim],
    *,
    organisation_id: int | None = None,
    action: str = "claims.created",
) -> tuple[list[int], dict[str, int]]:
    """Many claims in the CALLER's unit of work (a monthly report, the automatic scan,
    an award): those whose dedupe_key a live claim holds are skipped. One audit entry
    for the lot; a calculation run per scheme for the submitted ones (proposed claims
    are calculated once their account is confirmed). Returns the new ids and, for the
    skipped, dedupe_key -> the existing claim's id."""
    ids, held = await insert_claims(new)
    if not ids:
        return ids, held
    rows = (
        await Claim.select(Claim.id, Claim.scheme, Claim.status)
        .where(Claim.id.is_in(ids))
        .order_by(Claim.id)
        .run()
    )
    to_calculate: dict[str, list[int]] = {}
    for row in rows:
        if row["status"] == statuses.SUBMITTED:
            to_calculate.setdefault(row["scheme"], []).append(row["id"])
    for scheme, scheme_ids in sorted(to_calculate.items()):
        await enqueue_calculation(
            scheme, scheme_ids, created_by=actor_label, organisation_id=organisation_id
        )
    await record(
        actor_label,
        action,
        "claim",
        ids[0],
        after={
            "count": len(ids),
            "ids": ids if len(ids) <= 1000 else {"first": ids[0], "last": ids[-1]},
            "skipped_as_duplicates": len(held),
        },
    )
    return ids, held


def duplicate(key: str, claim_id: int) -> Conflict:
    return Conflict(
        f"claim {claim_id} already claims this ({key}); withdraw it first or see "
        f"/api/v1/claims/{claim_id}",
        field="dedupe_key",
        existing_claim_id=claim_id,
    )


def _audit_new(new: NewClaim) -> dict[str, Any]:
    return {
        "scheme": new.scheme,
        "origin": new.origin,
        "status": new.status,
        "dedupe_key": new.dedupe_key,
        "basis_date": new.basis_date.isoformat(),
        "claimant_id": new.claimant_id,
        "person_id": new.person_id,
        "payee_kind": new.payee_kind,
        "payee_organisation_id": new.payee_organisation_id,
        "certificate_id": new.certificate_id,
        "details": json.loads(mask_ids_in_text(json.dumps(new.details, default=str))),
    }


async def submit_request(
    actor: Principal,
    scheme: str,
    *,
    basis_date: date,
    person_id: int | None,
    details: dict[str, Any],
    claimant_organisation_id: int | None,
) -> dict[str, Any]:
    """`POST /api/v1/claims`: the scheme's registered builder validates and derives the
    claim (dedupe_key included); this fixes who claims and submits it."""
    kind = claim_kinds.require(scheme)
    claimant_id, claimant_type = await claimant_for(actor, claimant_organisation_id, kind)
    if person_id is not None and not await Person.exists().where(Person.id == person_id).run():
        raise InvalidInput.single("person_id", "no such person")
    request = claim_kinds.ClaimRequest(
        scheme=scheme,
        claimant_id=claimant_id,
        claimant_type=claimant_type,
        basis_date=basis_date,
        person_id=person_id,
        details=details,
    )
    built = await kind.build(actor, request)
    new = replace(
        built,
        scheme=scheme,
        claimant_id=claimant_id,
        submitted_by=actor.actor,
        origin="application",
        status=statuses.SUBMITTED,
    )
    claim_id = await submit(actor, new)
    return await get(actor, claim_id)


async def claimant_for(
    actor: Principal, claimant_organisation_id: int | None, kind: claim_kinds.ClaimKind
) -> tuple[int, str]:
    """Who claims: the organisation itself (of a type the scheme takes, else 403), or
    the organisation an officer names (400 when it is none of those)."""
    if not actor.is_staff:
        assert actor.organisation_id is not None and actor.org_type is not None
        if claimant_organisation_id not in (None, actor.organisation_id):
            raise InvalidInput.single(
                "claimant_organisation_id", "an organisation claims for itself: leave this out"
            )
        if actor.org_type.value not in kind.claimant_types:
            raise Forbidden(
                f"{kind.scheme} claims are made by: {', '.join(kind.claimant_types)}",
                required=list(kind.claimant_types),
            )
        return actor.organisation_id, actor.org_type.value
    if claimant_organisation_id is None:
        raise InvalidInput.single(
            "claimant_organisation_id", "required when an officer claims for an organisation"
        )
    org = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == claimant_organisation_id)
        .first()
        .run()
    )
    if org is None:
        raise InvalidInput.single("claimant_organisation_id", "no such organisation")
    if org["org_type"] not in kind.claimant_types:
        raise InvalidInput.single(
            "claimant_organisation_id",
            f"{kind.scheme} claims are made by: {', '.join(kind.claimant_types)}",
        )
    return claimant_organisation_id, org["org_type"]


# -- reading -------------------------------------------------------------------------


async def _row(claim_id: int) -> dict[str, Any]:
    """Every column of the claim, merged with its calculation."""
    row = await calculations.claim_row(claim_id, detail=False)
    if row is None:
        raise NotFound("claim not found", claim_id=claim_id)
    return row


def _ensure_visible(actor: Principal, claim: dict[str, Any]) -> None:
    """Staff see every claim; an organisation those it claims or is paid by."""
    if actor.is_staff:
        return
    if actor.organisation_id not in rules.involved_organisations(claim):
        raise NotVisible("claim not found", claim_id=claim["id"])


def _json(text: str | None, masked: bool) -> Any:
    if text is None:
        return None
    return json.loads(mask_ids_in_text(text) if masked else text)


def _present(actor: Principal, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if out.get("person_id_number") is not None:
        out["person_id_number"] = shown_id(actor, out["person_id_number"])
    out["amount_yuan"] = rules.yuan_text(out["amount_fen"])
    masked = not sees_full_id(actor)
    for field in ("details", "inputs", "trace"):
        if field in out:
            out[field] = _json(out[field], masked)
    return out


async def get(actor: Principal, claim_id: int) -> dict[str, Any]:
    found = await Claim.select(*_DETAIL).where(Claim.id == claim_id).first().run()
    if found is None:
        raise NotFound("claim not found", claim_id=claim_id)
    (row,) = await calculations.merged_rows([found])
    _ensure_visible(
        actor,
        {
            "id": claim_id,
            "claimant": row["claimant_organisation_id"],
            "payee_organisation": row["payee_organisation_id"],
        },
    )
    return _present(actor, row)


@dataclass(frozen=True)
class ClaimFilters:
    scheme: str | None = None
    status: str | None = None
    year: int | None = None
    claimant: int | None = None
    person: int | None = None


async def list_visible(
    actor: Principal, filters: ClaimFilters, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    if filters.status is not None and filters.status not in statuses.ALL:
        raise InvalidInput.single("status", f"must be one of {', '.join(statuses.ALL)}")
    query = Claim.select(*_LISTED)
    if not actor.is_staff:
        org = actor.organisation_id
        query = query.where((Claim.claimant == org) | (Claim.payee_organisation == org))
    if filters.scheme is not None:
        query = query.where(Claim.scheme == filters.scheme)
    if filters.status is not None:
        query = query.where(_status_is(filters.status))
    if filters.year is not None:
        query = query.where(Claim.budget_year == filters.year)
    if filters.claimant is not None:
        query = query.where(Claim.claimant == filters.claimant)
    if filters.person is not None:
        query = query.where(Claim.person == filters.person)
    if after_id is not None:
        query = query.where(Claim.id > after_id)
    rows = await query.order_by(Claim.id).limit(limit).run()
    return [_present(actor, r) for r in await calculations.merged_rows(rows, detail=False)]


def _status_is(status: str) -> Any:
    """Claims shown in `status` (calculated and submitted differ by a calculation)."""
    # EXISTS, not IN: NOT IN cannot become an anti-join on PostgreSQL.
    exists = 'EXISTS (SELECT 1 FROM claim_calculation AS c WHERE c.claim = "claim"."id")'
    if status == statuses.CALCULATED:
        return (Claim.status == statuses.SUBMITTED) & WhereRaw(exists)
    if status == statuses.SUBMITTED:
        return (Claim.status == statuses.SUBMITTED) & WhereRaw(f"NOT {exists}")
    return Claim.status == status


# -- withdrawing ---------------------------------------------------------------------


async def withdraw(actor: Principal, claim_id: int) -> dict[str, Any]:
    """By the claimant (or an officer on its behalf) before approval. A withdrawn claim
    no longer holds its dedupe_key, so the same thing can be claimed again."""
    async with unit_of_work():
        claim = await _row(claim_id)
        _ensure_visible(actor, claim)
        if not actor.is_staff and actor.organisation_id != claim["claimant"]:
            raise Forbidden("only the claimant withdraws a claim", claim_id=claim_id)
        rules.ensure_withdrawable(claim_id, claim["status"])
        now = utcnow()
        moved = await _move(
            claim_id,
            statuses.WITHDRAWABLE,
            {
                Claim.status: statuses.WITHDRAWN,
                Claim.withdrawn_at: now,
                Claim.updated_at: now,
                **calculations.settled(claim),
            },
        )
        if not moved:
            await _raise_moved_on(claim_id, statuses.WITHDRAWABLE, "withdrawn")
        await record(
            actor.actor,
            "claim.withdrawn",
            "claim",
            claim_id,
            before={"status": claim["status"]},
            after={"status": statuses.WITHDRAWN},
        )
    return await get(actor, claim_id)


async def _move(
    claim_id: int, from_statuses: tuple[str, ...], changes: dict[Any, Any], also: Any = None
) -> bool:
    """The conditional UPDATE every transition goes through: it re-checks the status
    (and `also`, a further condition) under the row lock, so of two racing transitions
    exactly one applies. `from_statuses` are statuses as shown; the caller has checked
    whether the claim is calculated (a calculation is never removed)."""
    which = (Claim.id == claim_id) & Claim.status.is_in(list(statuses.stored(from_statuses)))
    if also is not None:
        which &= also
    rows = await Claim.update(changes).where(which).returning(Claim.id).run()
    return bool(rows)


async def _raise_moved_on(claim_id: int, wanted: tuple[str, ...], doing: str) -> None:
    row = await calculations.claim_row(claim_id, detail=False)
    status = row["status"] if row else "gone"
    if status in wanted:  # it moved between two such statuses (calculated -> on hold)
        raise Conflict(
            f"claim {claim_id} changed while it was being {doing} (it is now {status}); "
            "look at it again",
            field="status",
            status=status,
        )
    raise rules.not_in_status(claim_id, status, wanted, doing)


# -- confirming the account of a proposed claim --------------------------------------


@dataclass(frozen=True)
class AccountDetails:
    """Where the money goes. All empty: confirm the account already on record."""

    bank_name: str | None = None
    bank_account: str | None = None
    bank_account_name: str | None = None  # organisations; for a person, their own name

    def given(self) -> bool:
        return any(v is not None for v in (self.bank_name, self.bank_account))


@dataclass(frozen=True)
class AccountConfirmation:
    claim: dict[str, Any]
    # An employer gave a person's account other than the one on record: its proposal,
    # which an officer decides; the claim stays proposed until then.
    proposal: dict[str, Any] | None = None


async def confirm_account(
    actor: Principal, claim_id: int, account: AccountDetails
) -> AccountConfirmation:
    """A proposed claim (found by the automatic scan) becomes submitted once its
    beneficiary organisation (the payee organisation; for a payment to a person, the
    employer that claims for them) or an officer confirms the bank account. Its
    calculation is enqueued in the same unit of work. Only staff record a person's
    account: an employer's other account becomes a proposal, and the claim waits."""
    async with unit_of_work():
        claim = await _row(claim_id)
        _ensure_visible(actor, claim)
        beneficiary = rules.beneficiary_organisation(claim)
        if not actor.is_staff and actor.organisation_id != beneficiary:
            raise Forbidden(
                "only the beneficiary organisation confirms the account", claim_id=claim_id
            )
        if claim["status"] != statuses.PROPOSED:
            raise rules.not_in_status(claim_id, claim["status"], (statuses.PROPOSED,), "confirmed")
        if claim["payee_kind"] == rules.PERSON:
            shown = await _confirm_person_account(actor, claim["person"], account)
            if "proposal" in shown:
                await record(
                    actor.actor, "claim.account_proposed", "claim", claim_id,
                    after={"status": statuses.PROPOSED, "proposal": shown["proposal"]["id"]},
                )  # fmt: skip
                return AccountConfirmation(await get(actor, claim_id), shown["proposal"])
        else:
            shown = await _confirm_organisation_account(actor, claim["payee_organisation"], account)
        now = utcnow()
        moved = await _move(
            claim_id,
            (statuses.PROPOSED,),
            {
                Claim.status: statuses.SUBMITTED,
                Claim.account_confirmed_by: actor.actor,
                Claim.account_confirmed_at: now,
                Claim.updated_at: now,
            },
        )
        if not moved:
            await _raise_moved_on(claim_id, (statuses.PROPOSED,), "confirmed")
        await record(
            actor.actor,
            "claim.account_confirmed",
            "claim",
            claim_id,
            before={"status": statuses.PROPOSED},
            after={"status": statuses.SUBMITTED, "account": shown},
        )
        await enqueue_calculation(
            claim["scheme"], [claim_id], created_by=actor.actor, organisation_id=beneficiary
        )
    return AccountConfirmation(await get(actor, claim_id))


async def _confirm_person_account(
    actor: Principal, person_id: int | None, account: AccountDetails
) -> dict[str, Any]:
    """The account the claim pays (masked), or {"proposal": row} when an organisation
    gave another account than the one on record."""
    if person_id is None:
        raise Conflict("this claim names no person to pay")
    query = Person.select(
        Person.name,
        Person.bank_name,
        Person.bank_account,
        Person.bank_code,
        Person.bank_account_kind,
    ).where(Person.id == person_id)
    person = await organisations.for_update(query).first().run()
    if person is None:
        raise NotFound("person not found", person_id=person_id)
    if not account.given():
        if not (person["bank_name"] and person["bank_account"]):
            raise InvalidInput.single(
                "bank_account",
                "no account is on record for this person: give bank_name and bank_account "
                "(the financial account of their social security card)",
            )
        return {
            "bank_name": person["bank_name"],
            "bank_account": mask_account(person["bank_account"]),
        }
    errors = []
    if account.bank_name is None:
        errors.append(FieldError("bank_name", "required with bank_account"))
    if account.bank_account is None:
        errors.append(FieldError("bank_account", "required with bank_name"))
    if (
        account.bank_account_name is not None
        and account.bank_account_name.strip() != person["name"]
    ):
        errors.append(
            FieldError(
                "bank_account_name",
                "a person is paid into their own social security card account: leave this "
                "out or give the person's own name",
            )
        )
    if errors:
        raise InvalidInput(errors)
    assert account.bank_name is not None and account.bank_account is not None
    # Giving the account on record again keeps what is known of it (bank code, kind).
    same = "".join(account.bank_account.split()) == person["bank_account"]
    code = person["bank_code"] if same else None
    kind = (same and person["bank_account_kind"]) or payment_accounts.SOCIAL_SECURITY_CARD
    # The person's own name is the holder: the name check above gives the claim's reason.
    given = payment_accounts.PaymentAccount(
        account.bank_name, account.bank_account, code, None, kind
    )
    if not actor.is_staff:
        clean = payment_accounts.validate(given, person["name"])
        if same:  # the account the money already goes to
            return {
                "bank_name": person["bank_name"],
                "bank_account": mask_account(person["bank_account"]),
            }
        assert actor.organisation_id is not None
        proposal = await payment_account_proposals.propose_for_claim(
            actor, person_id, actor.organisation_id, clean
        )
        return {"proposal": proposal}
    saved = await payment_accounts.record(actor, person_id, given, via="claim_confirmation")
    return {"bank_name": saved["bank_name"], "bank_account": mask_account(saved["bank_account"])}


async def _confirm_organisation_account(
    actor: Principal, organisation_id: int | None, account: AccountDetails
) -> dict[str, Any]:
    if organisation_id is None:
        raise Conflict("this claim names no organisation to pay")
    if account.given() or account.bank_account_name is not None:
        missing = [
            FieldError(f, "required with the other bank account fields")
            for f in organisations.BANK_FIELDS
            if getattr(account, f) is None
        ]
        if missing:
            raise InvalidInput(missing)
        assert account.bank_name and account.bank_account and account.bank_account_name
        saved = await organisations.set_bank_account(
            actor,
            organisation_id,
            BankAccount(account.bank_name, account.bank_account, account.bank_account_name),
        )
    else:
        saved = (
            await Organisation.select(
                *(getattr(Organisation, f) for f in organisations.BANK_FIELDS)
            )
            .where(Organisation.id == organisation_id)
            .first()
            .run()
        )
        if saved is None:
            raise NotFound("organisation not found", organisation_id=organisation_id)
        if not all(saved[f] for f in organisations.BANK_FIELDS):
            raise InvalidInput.single(
                "bank_account",
                "no account is on record for the organisation: give bank_name, bank_account "
                "and bank_account_name",
            )
    return {
        "bank_name": saved["bank_name"],
        "bank_account": mask_account(saved["bank_account"]),
        "bank_account_name": saved["bank_account_name"],
    }


# -- decisions -----------------------------------------------------------------------


async def _ensure_may_decide(actor: Principal, claim: dict[str, Any], *, approving: bool) -> None:
    """Separation of duties. The submitter never approves (another session of the same
    account, or another key of the same organisation, is the same actor), nor rejects a
    held claim (that closes the case its hold opened and may give back what approval
    committed), nor does the officer who confirmed a proposed claim's account approve
    (choosing where the money goes prepares the payment). An officer employed by or
    linked to the claimant or the payee organisation decides none of its claims, neither
    way."""
    what = f"claim {claim['id']}"
    if approving:
        ensure_not_preparer(claim["submitted_by"], actor.actor, what=what)
        if claim["account_confirmed_by"]:
            ensure_not_preparer(
                claim["account_confirmed_by"], actor.actor, what=f"the account of {what}"
            )
    elif claim["status"] == statuses.ON_HOLD:
        try:
            ensure_not_preparer(claim["submitted_by"], actor.actor, what=what)
        except Forbidden:
            raise Forbidden(
                f"{what} was submitted by the same account; another officer must reject it",
                rule="four_eyes",
            ) from None
    for organisation_id in rules.involved_organisations(claim):
        ties = await affiliations.ties(actor.id, organisation_id)
        if ties:
            raise Forbidden(
                f"you are {' and '.join(ties)} with organisation {organisation_id}, a party to "
                f"{what}; another officer must decide it",
                rule="affiliation",
                organisation_id=organisation_id,
            )


async def _policy(version_id: int | None, claim_id: int) -> documents.Policy:
    if version_id is None:
        raise Conflict(f"claim {claim_id} has no policy version; calculate it again")
    row = (
        await PolicyVersion.select(PolicyVersion.document)
        .where(PolicyVersion.id == version_id)
        .first()
        .run()
    )
    if row is None:
        raise Conflict(f"claim {claim_id}: policy version {version_id} is missing")
    return documents.parse(json.loads(row["document"]), f"policy_version {version_id}", stored=True)


async def _cap_at_approval(claim: dict[str, Any]) -> int | None:
    """The cap the ledger holds an approval to: the policy version's, or a registered
    internship programme's where an officer set it lower (also after the month was
    priced: the cap in force when the money is committed binds)."""
    cap_fen = rules.cap_for(await _policy(claim["policy_version"], claim["id"]))
    if cap_fen is None:
        return None
    programme_cap = await internship_programmes.cap_of_key(claim["cap_key"])
    return cap_fen if programme_cap is None else min(cap_fen, programme_cap)


async def _approve(actor: Principal, claim_id: int) -> dict[str, Any]:
    """One approval, one unit of work; returns what was committed."""
    async with unit_of_work():
        claim = await _row(claim_id)
        await _ensure_may_decide(actor, claim, approving=True)
        rules.ensure_decidable(claim_id, claim["status"])
        # An award's instalments are all created at the award; each falls due on its
        # basis date (award date + months after the award) and is approved from then.
        if claim["origin"] == "award" and claim["basis_date"] > local_today():
            raise Conflict(
                f"claim {claim_id} is an instalment due on {claim['basis_date']}; it can be "
                "approved from that day",
                field="basis_date",
            )
        amount = claim["amount_fen"]
        if amount is None or amount < 0:
            raise Conflict(f"claim {claim_id} has no amount; calculate it again")
        now = utcnow()
        # The cap key as read (or none yet, the calculation's): mapping an internship
        # placement to a programme moves its claims' keys, and approval must not write
        # the old one back.
        same_key = Claim.cap_key.is_null()
        if claim["cap_key"] is not None:
            same_key |= Claim.cap_key == claim["cap_key"]
        moved = await _move(
            claim_id,
            statuses.DECIDABLE,
            {
                Claim.status: statuses.APPROVED,
                Claim.decided_by: actor.actor,
                Claim.decided_at: now,
                Claim.updated_at: now,
                **calculations.settled(claim),
            },
            same_key,
        )
        if not moved:
            await _raise_moved_on(claim_id, statuses.DECIDABLE, "approved")
        cap_fen = None
        if amount > 0:  # an amount of 0 is approved and takes nothing
            if claim["cap_key"]:
                cap_fen = await _cap_at_approval(claim)
                if cap_fen is not None:
                    refusal = await ledger.take_from_cap(claim["cap_key"], cap_fen, amount)
                    if refusal is not None:
                        raise Conflict(refusal.message(), field="cap_key")
            refusal = await ledger.take_from_budget(claim["scheme"], claim["budget_year"], amount)
            if refusal is not None:
                raise Conflict(refusal.message(), field="budget")
        committed = {
            "status": statuses.APPROVED,
            "amount_fen": amount,
            "cap_key": claim["cap_key"] if cap_fen is not None else None,
            "cap_fen": cap_fen,
            "budget": f"{claim['scheme']} {claim['budget_year']}" if amount > 0 else None,
        }
        await record(
            actor.actor,
            "claim.approved",
            "claim",
            claim_id,
            before={"status": claim["status"]},
            after=committed,
        )
    return committed


async def _reject(actor: Principal, claim_id: int, reason: str) -> dict[str, Any]:
    """A calculated claim, or one on hold (see the module docstring). The conditional
    UPDATE moves the claim only from the status it was read in (and, on hold, only while
    it is in no batch), so of two officers rejecting one claim, or a rejection racing a
    batch, exactly one applies; what was committed is given back only after it did."""
    async with unit_of_work():
        claim = await _row(claim_id)
        await _ensure_may_decide(actor, claim, approving=False)
        rules.ensure_rejectable(claim_id, claim["status"])
        held = claim["status"] == statuses.ON_HOLD
        if held:
            await _ensure_out_of_batch(claim)
        now = utcnow()
        moved = await _move(
            claim_id,
            (claim["status"],),
            {
                Claim.status: statuses.REJECTED,
                Claim.reject_reason: reason,
                Claim.decided_by: actor.actor,
                Claim.decided_at: now,
                Claim.updated_at: now,
                **calculations.settled(claim),
            },
            Claim.batch_id.is_null() if held else None,
        )
        if not moved:
            if held:
                await _ensure_out_of_batch(await _row(claim_id))
            await _raise_moved_on(claim_id, statuses.REJECTABLE, "rejected")
        before: dict[str, Any] = {"status": claim["status"]}
        after: dict[str, Any] = {"status": statuses.REJECTED, "reason": reason}
        if held:
            before["hold_reason"] = claim["hold_reason"]
            after["given_back"] = await _give_back(claim)
        await record(actor.actor, "claim.rejected", "claim", claim_id, before=before, after=after)
    return after


async def _ensure_out_of_batch(claim: dict[str, Any]) -> None:
    """A held claim in a disbursement batch waits for the batch: rejecting it there could
    leave the bank paying a rejected claim (reconciliation flags only held ones)."""
    if claim["status"] != statuses.ON_HOLD or claim["batch_id"] is None:
        return
    batch = (
        await DisbursementBatch.select(DisbursementBatch.number)
        .where(DisbursementBatch.id == claim["batch_id"])
        .first()
        .run()
    )
    raise rules.in_batch(claim["id"], claim["batch_id"], batch["number"] if batch else None)


async def _give_back(claim: dict[str, Any]) -> dict[str, Any] | None:
    """What the approval of a rejected held claim took from its cap and budget, given
    back in the caller's unit of work; None when it took nothing (held before approval,
    or approved at 0). The same figures approval used: the claim's amount and cap key
    (copied from its calculation at approval) and the cap of its policy version. An
    amount that no longer matches its calculation was edited after approval (a failed
    batch's release holds such claims): refused, as giving it back would move the
    ledger by the edit."""
    amount = claim["amount_fen"]
    if not rules.approved_before_hold(claim) or not amount or amount <= 0:
        return None
    priced = (await calculations.of_claims([claim["id"]], detail=False)).get(claim["id"])
    if priced is not None and priced["amount_fen"] != amount:
        raise rules.amount_changed_since_calculated(claim["id"], amount, priced["amount_fen"])
    cap_key = None
    if claim["cap_key"]:
        policy = await _policy(claim["policy_version"], claim["id"])
        if rules.cap_for(policy) is not None:
            cap_key = claim["cap_key"]
            await ledger.give_back_to_cap(cap_key, amount)
    await ledger.give_back_to_budget(claim["scheme"], claim["budget_year"], amount)
    return {
        "amount_fen": amount,
        "cap_key": cap_key,
        "budget": f"{claim['scheme']} {claim['budget_year']}",
    }


async def approve(actor: Principal, claim_id: int) -> dict[str, Any]:
    await _approve(actor, claim_id)
    return await get(actor, claim_id)


async def reject(actor: Principal, claim_id: int, reason: str) -> dict[str, Any]:
    await _reject(actor, claim_id, rules.check_reason(reason))
    return await get(actor, claim_id)


@dataclass(frozen=True)
class Outcome:
    claim_id: int
    outcome: str  # approved / rejected / refused
    error: str | None = None  # conflict / forbidden / not_found, when refused
    reason: str | None = None
    amount_fen: int | None = None


async def approve_many(actor: Principal, claim_ids: list[int]) -> list[Outcome]:
    """Each claim is its own unit of work (see the module docstring): one refusal does
    not block the others."""
    results = []
    for claim_id in rules.bulk_ids(claim_ids):
        try:
            done = await _approve(actor, claim_id)
        except DomainError as exc:
            results.append(await _refused(actor, claim_id, exc, "approve"))
            continue
        results.append(Outcome(claim_id, statuses.APPROVED, amount_fen=done["amount_fen"]))
    return results


async def reject_many(actor: Principal, claim_ids: list[int], reason: str) -> list[Outcome]:
    reason = rules.check_reason(reason)
    results = []
    for claim_id in rules.bulk_ids(claim_ids):
        try:
            await _reject(actor, claim_id, reason)
        except DomainError as exc:
            results.append(await _refused(actor, claim_id, exc, "reject"))
            continue
        results.append(Outcome(claim_id, statuses.REJECTED))
    return results


async def _refused(actor: Principal, claim_id: int, exc: DomainError, doing: str) -> Outcome:
    if isinstance(exc, Forbidden):
        # A refused access is audited as the edge does for a single request.
        await record_denial(actor.actor, f"{doing} claim", f"claim/{claim_id}", exc.message)
    return Outcome(claim_id, "refused", error=exc.code, reason=exc.message)
