"""Claims on hold (their certificate revoked) leave the hold by an officer's rejection,
on SQLite and PostgreSQL: the reason, who may reject, the dedupe key freed, exactly the
share of cap and budget an approval took given back, a claim still in a disbursement
batch refused, concurrent rejections applied once, and bulk rejection.

Claims are calculated by the test helper of test_claims (no calculator runs); holds
come from revoking the certificate through the API, as test_skill_levels does."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.db import unit_of_work
from subsidies.claims import statuses
from subsidies.claims.submission import NewClaim, insert_claims
from subsidies.claims.tables import Budget, Claim
from tests.conftest import bearer, make_org, org_key, staff_token, unique
from tests.integration.test_batches import BASE as BATCHES
from tests.integration.test_batches import paying_org
from tests.integration.test_claims import (
    budget_row,
    cap_used,
    fresh_scheme,
    officer,
    policy_version_id,
    set_budget_row,
    set_calculated,
    status_of,
    tied_officers,
)
from tests.integration.test_skill_levels import wait_for_job
from tests.support import registry_data as data
from tests.support.claim_rows import claims_by_id
from tests.support.registry_data import ELECTRICIAN

YEAR = 2026
CAP_FEN = 5_000_000  # the skill-level policy's cap per person (test_claims relies on it too)


async def certificate(level: int = 3, occupation: str | None = None) -> dict[str, Any]:
    person = await data.person()
    issuer = await data.organisation(org_type="evaluation_organisation")
    extra = {"occupation": occupation} if occupation else {}
    return await data.certificate(person, issuer, level=level, **extra)


async def claim_on(
    cert: dict[str, Any],
    *,
    scheme: str,
    claimant_id: int,
    amount_fen: int,
    cap_key: str | None = None,
    dedupe_key: str | None = None,
    submitted_by: str | None = None,
    payee_organisation_id: int | None = None,
) -> int:
    """A calculated claim based on `cert`, as a scheme and a calculation run leave it."""
    new = NewClaim(
        scheme=scheme,
        dedupe_key=dedupe_key or unique(f"{scheme}:thing"),
        basis_date=date(YEAR, 3, 1),
        payee_kind="organisation",
        submitted_by=submitted_by or f"org:{claimant_id}:key:test",
        claimant_id=claimant_id,
        person_id=cert["person"],
        payee_organisation_id=payee_organisation_id or claimant_id,
        certificate_id=cert["id"],
        budget_year=YEAR,
    )
    async with unit_of_work():
        ids, held = await insert_claims([new])
    assert ids and not held
    version = await policy_version_id("skill_level") if cap_key else None
    await set_calculated(ids[0], amount_fen, cap_key=cap_key, policy_version=version)
    return ids[0]


async def revoke(client: httpx.AsyncClient, cert_id: int, headers: dict[str, str]) -> None:
    r = await client.post(
        f"/api/v1/certificates/{cert_id}/revoke", headers=headers, json={"reason": "考核记录伪造"}
    )
    assert r.status_code == 200, r.text
    job = await wait_for_job(client, r.json()["job_url"], headers)
    assert job["status"] == "done", job


async def reject(
    client: httpx.AsyncClient, claim_id: int, headers: dict[str, str], reason: str = "证书已撤销"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/claims/{claim_id}/reject", json={"reason": reason}, headers=headers
    )


async def approve(client: httpx.AsyncClient, claim_id: int, headers: dict[str, str]) -> None:
    r = await client.post(f"/api/v1/claims/{claim_id}/approve", headers=headers)
    assert r.status_code == 200, r.text


async def ledger(scheme: str, cap_key: str) -> tuple[int, int]:
    """(budget committed, cap used) in fen."""
    return (await budget_row(scheme, YEAR))["committed_fen"], await cap_used(cap_key)


async def rejections_of(claim_id: int) -> list[dict[str, Any]]:
    return (
        await AuditEntry.select()
        .where((AuditEntry.action == "claim.rejected") & (AuditEntry.object_id == str(claim_id)))
        .run()
    )


async def approved_then_held(
    client: httpx.AsyncClient, amount_fen: int = 300_000
) -> tuple[int, str, str, dict[str, str]]:
    """A claim approved through the API (its cap and budget taken), then held by the
    revocation of its certificate: (claim, scheme, cap key, an officer's headers)."""
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme, cap_key = fresh_scheme(), unique("skill_level:person:")
    await set_budget_row(scheme, YEAR, 1_000_000)
    cert = await certificate()
    claim = await claim_on(
        cert, scheme=scheme, claimant_id=org["id"], amount_fen=amount_fen, cap_key=cap_key
    )
    await approve(client, claim, oh)
    await revoke(client, cert["id"], oh)
    assert await status_of(claim) == statuses.ON_HOLD
    assert await ledger(scheme, cap_key) == (amount_fen, amount_fen)
    return claim, scheme, cap_key, oh


# -- rejecting a held claim --------------------------------------------------------------


async def test_a_held_calculated_claim_is_rejected_and_what_it_claimed_is_free_again(client):
    employer, key = await org_key("enterprise")
    cert = await certificate(level=2)
    person = cert["person"]
    thing = f"skill_level:{person}:2"  # what the skill-level claim kind derives
    claim = await claim_on(
        cert, scheme="skill_level", claimant_id=employer["id"], amount_fen=150_000, dedupe_key=thing
    )
    _, oh = await officer()
    await revoke(client, cert["id"], oh)
    assert await status_of(claim) == statuses.ON_HOLD

    # Held, it still holds the key: the same level from another certificate is refused.
    issuer = await data.organisation(org_type="evaluation_organisation")
    other = await data.certificate({"id": person}, issuer, level=2, occupation=ELECTRICIAN)
    body = {
        "scheme": "skill_level",
        "basis_date": "2026-01-01",
        "person_id": person,
        "details": {"certificate_id": other["id"]},
    }
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body)
    assert r.status_code == 409 and r.json()["existing_claim_id"] == claim, r.text
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 409 and "is on_hold" in r.json()["detail"]

    r = await reject(client, claim, oh, " 证书撤销，不予发放 ")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "rejected" and out["reject_reason"] == "证书撤销，不予发放"
    assert "考核记录伪造" in out["hold_reason"]  # the hold's reason is kept
    assert out["decided_by"].startswith("staff:") and out["decided_at"] is not None
    assert out["amount_fen"] == 150_000
    [entry] = await rejections_of(claim)
    assert json.loads(entry["before"]) == {"status": "on_hold", "hold_reason": out["hold_reason"]}
    assert json.loads(entry["after"]) == {
        "status": "rejected",
        "reason": "证书撤销，不予发放",
        "given_back": None,  # held before approval: it had taken nothing
    }
    assert entry["actor"] == out["decided_by"]

    r = await client.post("/api/v1/claims", headers=bearer(key), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["dedupe_key"] == thing
    r = await reject(client, claim, oh)
    assert r.status_code == 409 and "is rejected" in r.json()["detail"]


async def test_an_approved_held_claim_gives_back_exactly_its_share_when_rejected(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme, cap_key = fresh_scheme(), unique("skill_level:person:")
    await set_budget_row(scheme, YEAR, 1_000_000)
    revoked, kept = await certificate(), await certificate()
    approved = await claim_on(
        revoked, scheme=scheme, claimant_id=org["id"], amount_fen=300_000, cap_key=cap_key
    )
    other = await claim_on(
        kept, scheme=scheme, claimant_id=org["id"], amount_fen=200_000, cap_key=cap_key
    )
    # Held before approval, on the same certificate: it took nothing.
    calculated = await claim_on(
        revoked, scheme=scheme, claimant_id=org["id"], amount_fen=100_000, cap_key=cap_key
    )
    await approve(client, approved, oh)
    await approve(client, other, oh)
    assert await ledger(scheme, cap_key) == (500_000, 500_000)

    await revoke(client, revoked["id"], oh)
    held = await claims_by_id([approved, calculated])
    assert {c["status"] for c in held.values()} == {statuses.ON_HOLD}
    assert await ledger(scheme, cap_key) == (500_000, 500_000)  # held, still committed

    _, finance = await staff_token(StaffRole.FINANCE)
    url = f"/api/v1/budgets/{scheme}/{YEAR}"
    assert (await client.get(url, headers=bearer(finance))).json()["remaining_fen"] == 500_000
    r = await reject(client, approved, oh)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert await ledger(scheme, cap_key) == (200_000, 200_000)
    budget = (await client.get(url, headers=bearer(finance))).json()
    assert (budget["committed_fen"], budget["remaining_fen"]) == (200_000, 800_000)
    [entry] = await rejections_of(approved)
    assert json.loads(entry["after"])["given_back"] == {
        "amount_fen": 300_000,
        "cap_key": cap_key,
        "budget": f"{scheme} {YEAR}",
    }

    r = await reject(client, calculated, oh)
    assert r.status_code == 200, r.text
    assert await ledger(scheme, cap_key) == (200_000, 200_000)
    assert json.loads((await rejections_of(calculated))[0]["after"])["given_back"] is None
    # What was given back is free for the next approval under the same cap and budget.
    again = await claim_on(
        kept, scheme=scheme, claimant_id=org["id"], amount_fen=800_000, cap_key=cap_key
    )
    await approve(client, again, oh)
    assert await ledger(scheme, cap_key) == (1_000_000, 1_000_000)


async def test_a_rejection_of_a_held_claim_needs_a_reason_and_a_known_claim(client):
    claim, scheme, cap_key, oh = await approved_then_held(client)
    url = f"/api/v1/claims/{claim}/reject"
    for body in ({"reason": ""}, {"reason": "   "}, {}, {"reason": "x" * 1001}):
        r = await client.post(url, json=body, headers=oh)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["errors"][0]["field"] == "reason", (body, r.text)
    r = await client.post(
        "/api/v1/claims/rejections", json={"claim_ids": [claim], "reason": " "}, headers=oh
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await reject(client, 2_000_000_000, oh)
    assert r.status_code == 404
    assert await status_of(claim) == statuses.ON_HOLD
    assert await ledger(scheme, cap_key) == (300_000, 300_000)
    assert await rejections_of(claim) == []


async def test_the_submitter_and_linked_officers_do_not_reject_a_held_claim(client):
    claimant, payee, (lh, eh, free) = await tied_officers()
    submitter, sh = await officer()
    cert = await certificate()
    claim = await claim_on(
        cert,
        scheme=fresh_scheme(),
        claimant_id=claimant["id"],
        payee_organisation_id=payee["id"],
        amount_fen=1_000,
        submitted_by=f"staff:{submitter['id']}:session",
    )
    await revoke(client, cert["id"], free)
    assert await status_of(claim) == statuses.ON_HOLD

    r = await reject(client, claim, sh)
    assert r.status_code == 403 and "another officer must reject it" in r.json()["detail"]
    for h in (lh, eh):
        r = await reject(client, claim, h)
        assert r.status_code == 403 and "another officer must decide" in r.json()["detail"]
    _, key = await org_key("enterprise")
    _, finance = await staff_token(StaffRole.FINANCE, StaffRole.ADMIN)
    for h in (bearer(key), bearer(finance)):
        assert (await reject(client, claim, h)).status_code == 403
    # In bulk, each refusal is reported.
    r = await client.post(
        "/api/v1/claims/rejections", json={"claim_ids": [claim], "reason": "x"}, headers=sh
    )
    assert r.status_code == 200 and r.json()["results"][0]["error"] == "forbidden"
    assert await status_of(claim) == statuses.ON_HOLD
    assert await rejections_of(claim) == []
    r = await reject(client, claim, free)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text


async def test_concurrent_rejections_of_one_held_claim_apply_once(client):
    claim, scheme, cap_key, _ = await approved_then_held(client)
    heads = [(await officer())[1] for _ in range(4)]
    responses = await asyncio.gather(
        *(reject(client, claim, h, f"by {i}") for i, h in enumerate(heads))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert "is rejected" in r.json()["detail"]
    assert await ledger(scheme, cap_key) == (0, 0)  # given back once, not four times
    assert len(await rejections_of(claim)) == 1


async def test_a_held_claim_in_a_batch_waits_for_the_batch(client):
    org = await paying_org()
    _, oh = await officer()
    scheme, cap_key = fresh_scheme(), unique("skill_level:person:")
    await set_budget_row(scheme, YEAR, 1_000_000)
    cert = await certificate()
    claim = await claim_on(
        cert, scheme=scheme, claimant_id=org["id"], amount_fen=300_000, cap_key=cap_key
    )
    await approve(client, claim, oh)
    f1, f2 = [bearer((await staff_token(StaffRole.FINANCE))[1]) for _ in range(2)]
    r = await client.post(BATCHES, json={"scheme": scheme}, headers=f1)
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    await revoke(client, cert["id"], oh)
    row = (await claims_by_id([claim]))[claim]
    assert (row["status"], row["batch_id"]) == (statuses.ON_HOLD, batch["id"])

    r = await reject(client, claim, oh)
    assert r.status_code == 409, r.text
    assert batch["number"] in r.json()["detail"] and r.json()["batch_id"] == batch["id"]
    assert r.json()["errors"][0]["field"] == "batch_id"
    r = await client.post(
        "/api/v1/claims/rejections", json={"claim_ids": [claim], "reason": "x"}, headers=oh
    )
    assert r.json()["results"][0]["error"] == "conflict"
    assert batch["number"] in r.json()["results"][0]["reason"]
    assert await status_of(claim) == statuses.ON_HOLD
    assert await ledger(scheme, cap_key) == (300_000, 300_000)

    r = await client.post(
        f"{BATCHES}/{batch['id']}/cancellation", json={"reason": "证书撤销"}, headers=f2
    )
    assert r.status_code == 200, r.text
    r = await reject(client, claim, oh)
    assert r.status_code == 200 and r.json()["batch_id"] is None, r.text
    assert await ledger(scheme, cap_key) == (0, 0)


async def test_bulk_rejection_takes_held_claims_and_reports_each(client):
    held, scheme, cap_key, oh = await approved_then_held(client, amount_fen=400_000)
    org = await make_org("enterprise")
    calculated = await claim_on(
        await certificate(), scheme=scheme, claimant_id=org["id"], amount_fen=10
    )
    r = await client.post(
        "/api/v1/claims/rejections",
        json={"claim_ids": [held, calculated, held, 2_000_000_000], "reason": "撤销"},
        headers=oh,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["decided"], body["refused"]) == (2, 1)
    assert [x["outcome"] for x in body["results"]] == ["rejected", "rejected", "refused"]
    assert body["results"][2]["error"] == "not_found"
    assert await status_of(held) == await status_of(calculated) == statuses.REJECTED
    assert await ledger(scheme, cap_key) == (0, 0)


# -- when the ledger cannot give back exactly what was taken ------------------------------


async def test_a_ledger_holding_less_than_the_share_refuses_and_changes_nothing(client):
    claim, scheme, cap_key, oh = await approved_then_held(client)
    await (
        Budget.update({Budget.committed_fen: 299_999})
        .where((Budget.scheme == scheme) & (Budget.year == YEAR))
        .run()
    )
    r = await reject(client, claim, oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "budget", r.text
    # The cap given back earlier in the same unit of work is rolled back with it.
    assert await ledger(scheme, cap_key) == (299_999, 300_000)
    assert await status_of(claim) == statuses.ON_HOLD
    assert await rejections_of(claim) == []


async def test_a_held_claim_whose_amount_was_edited_after_approval_is_refused(client):
    claim, scheme, cap_key, oh = await approved_then_held(client)
    await Claim.update({Claim.amount_fen: 9_900_000}).where(Claim.id == claim).run()
    r = await reject(client, claim, oh)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "amount_fen", r.text
    assert "99,000.00" in r.json()["detail"] and "3,000.00" in r.json()["detail"]
    assert await ledger(scheme, cap_key) == (300_000, 300_000)
    assert await status_of(claim) == statuses.ON_HOLD
    # Put right, it is rejected and gives back what its approval took.
    await Claim.update({Claim.amount_fen: 300_000}).where(Claim.id == claim).run()
    assert (await reject(client, claim, oh)).status_code == 200
    assert await ledger(scheme, cap_key) == (0, 0)
