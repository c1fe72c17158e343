"""Claims through the API, on SQLite and PostgreSQL: submission (through a registered
claim kind), duplicates, withdrawal, officers' decisions singly and in bulk against caps
and budgets, separation of duties, budgets, account confirmation of proposed claims,
and who reads which claim.

No calculation runs here: a test helper sets claims to calculated with an amount, as a
calculation run would, so these tests do not depend on any calculator."""

from __future__ import annotations

import json
import random
import re
from datetime import date
from typing import Any

import httpx

from accounts.principal import Principal
from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import InvalidInput
from registry.tables import Organisation, Person
from reviews import affiliations
from subsidies.claims import calculations, statuses
from subsidies.claims.claim_kinds import ClaimRequest, register_claim_kind
from subsidies.claims.submission import CALCULATE, NewClaim, insert_claims
from subsidies.claims.tables import Budget, CapUsage, Claim, ClaimCalculation
from subsidies.policies.tables import PolicyVersion
from tests.conftest import ADMIN, bearer, make_org, org_key, staff_token, unique
from tests.integration.test_studios import make_person
from tests.support.claim_rows import stored_trace
from workers import kinds
from workers.tables import Job

# -- a claim kind of its own, so submission is tested without any scheme's rules -------

TEST_SCHEME = "claims_test"


async def build_test_claim(actor: Principal, request: ClaimRequest) -> NewClaim:
    thing = request.details.get("thing")
    if not isinstance(thing, str) or not thing.strip():
        raise InvalidInput.single("details.thing", "required: what is claimed")
    return NewClaim(
        scheme=request.scheme,
        dedupe_key=f"{TEST_SCHEME}:{thing.strip()}",
        basis_date=request.basis_date,
        payee_kind="organisation",
        submitted_by=actor.actor,
        claimant_id=request.claimant_id,
        person_id=request.person_id,
        payee_organisation_id=request.claimant_id,
        details=request.details,
    )


register_claim_kind(TEST_SCHEME, build_test_claim)


# Submission enqueues a calculation run: its job kind must be known also in tests that
# build no app (which loads the handlers).
kinds.load_handlers()

# -- helpers --------------------------------------------------------------------------


async def officer(*extra: StaffRole) -> tuple[dict[str, Any], dict[str, str]]:
    user, token = await staff_token(StaffRole.OFFICER, *extra)
    return user, bearer(token)


async def policy_version_id(scheme: str, version: int = 1) -> int:
    row = (
        await PolicyVersion.select(PolicyVersion.id)
        .where((PolicyVersion.scheme == scheme) & (PolicyVersion.version == version))
        .first()
        .run()
    )
    assert row is not None
    return row["id"]


async def set_budget_row(scheme: str, year: int, amount_fen: int) -> None:
    await Budget.insert(
        Budget(scheme=scheme, year=year, amount_fen=amount_fen, committed_fen=0, set_by="test")
    ).run()


async def budget_row(scheme: str, year: int) -> dict[str, Any]:
    row = (
        await Budget.select().where((Budget.scheme == scheme) & (Budget.year == year)).first().run()
    )
    assert row is not None
    return row


async def cap_used(key: str) -> int:
    row = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    return row["used_fen"] if row else 0


async def set_calculated(
    claim_id: int,
    amount_fen: int,
    *,
    cap_key: str | None = None,
    policy_version: int | None = None,
) -> None:
    """What a calculation run writes, done directly."""
    trace = [
        {"zh": f"测试金额 {amount_fen} 分", "en": f"test amount {amount_fen} fen"},
        {"zh": "封顶检查", "en": "cap checked"},
    ]
    row = await Claim.select(Claim.status).where(Claim.id == claim_id).first().run()
    updated = row is not None and row["status"] == statuses.SUBMITTED
    if updated:
        await ClaimCalculation.insert(
            ClaimCalculation(
                claim=claim_id,
                amount_fen=amount_fen,
                cap_key=cap_key,
                policy_version=policy_version,
                inputs=json.dumps({"months": 3, "rate_fen": 300000}),
                trace_digest=await stored_trace(json.dumps(trace, ensure_ascii=False)),
                calculated_at=utcnow(),
            )
        ).run()
    assert updated, f"claim {claim_id} was not submitted"


async def make_claim(
    *,
    scheme: str,
    claimant_id: int,
    amount_fen: int | None = None,
    submitted_by: str | None = None,
    cap_key: str | None = None,
    policy_version: int | None = None,
    budget_year: int = 2026,
    payee_kind: str = "organisation",
    payee_organisation_id: int | None = None,
    person_id: int | None = None,
    status: str = statuses.SUBMITTED,
) -> int:
    """A claim inserted as a scheme would (no calculation run enqueued); calculated with
    `amount_fen` when given."""
    new = NewClaim(
        scheme=scheme,
        dedupe_key=unique(f"{scheme}:thing"),
        basis_date=date(budget_year, 3, 1),
        payee_kind=payee_kind,
        submitted_by=submitted_by or f"org:{claimant_id}:key:test",
        origin="automatic" if status == statuses.PROPOSED else "application",
        status=status,
        claimant_id=claimant_id,
        person_id=person_id,
        payee_organisation_id=(
            payee_organisation_id
            if payee_organisation_id is not None
            else (claimant_id if payee_kind == "organisation" else None)
        ),
        budget_year=budget_year,
    )
    async with unit_of_work():
        ids, held = await insert_claims([new])
    assert ids and not held
    if amount_fen is not None:
        await set_calculated(ids[0], amount_fen, cap_key=cap_key, policy_version=policy_version)
    return ids[0]


def fresh_scheme() -> str:
    """A scheme name of this test alone, so budgets set here meet no other test's."""
    return unique("t_scheme_")


async def status_of(claim_id: int) -> str:
    row = await calculations.claim_row(claim_id)
    assert row is not None
    return row["status"]


async def submit(
    client: httpx.AsyncClient, h: dict[str, str], thing: str | None = None, **extra: Any
) -> httpx.Response:
    body = {
        "scheme": TEST_SCHEME,
        "basis_date": "2026-03-01",
        "details": {"thing": thing or unique("thing")},
        **extra,
    }
    return await client.post("/api/v1/claims", json=body, headers=h)


def claim_named(detail: str) -> int:
    match = re.search(r"claim (\d+) already claims", detail)
    assert match, detail
    return int(match.group(1))


# -- submission -------------------------------------------------------------------------


async def test_an_enterprise_submits_a_claim_and_its_calculation_is_enqueued(client):
    org, key = await org_key("enterprise")
    person = await make_person()
    r = await submit(client, bearer(key), person_id=person)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "submitted" and claim["scheme"] == TEST_SCHEME
    assert claim["claimant_organisation_id"] == org["id"]
    assert claim["payee_organisation_id"] == org["id"] and claim["person_id"] == person
    assert claim["submitted_by"].startswith(f"org:{org['id']}:key:")
    assert claim["origin"] == "application" and claim["budget_year"] == 2026
    assert claim["amount_fen"] is None and claim["amount_yuan"] is None
    assert claim["dedupe_key"].startswith(f"{TEST_SCHEME}:")
    jobs = await Job.select().where(Job.kind == CALCULATE).run()
    mine = [j for j in jobs if json.loads(j["payload"]).get("claim_ids") == [claim["id"]]]
    assert len(mine) == 1
    assert json.loads(mine[0]["payload"])["scheme"] == TEST_SCHEME
    assert mine[0]["organisation"] == org["id"]
    audit = (
        await AuditEntry.select()
        .where(
            (AuditEntry.action == "claim.submitted") & (AuditEntry.object_id == str(claim["id"]))
        )
        .run()
    )
    assert len(audit) == 1


async def test_submission_is_validated_by_the_scheme_and_the_route(client):
    _, key = await org_key("enterprise")
    h = bearer(key)
    r = await client.post(
        "/api/v1/claims",
        json={"scheme": TEST_SCHEME, "basis_date": "2026-03-01", "details": {}},
        headers=h,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.thing"
    r = await submit(client, h, scheme="no_such_scheme")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scheme"
    r = await submit(client, h, person_id=2_000_000_000)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "person_id"
    r = await submit(client, h, dedupe_key="mine")  # the key is derived, never given
    assert r.status_code == 400
    other = await make_org("enterprise")
    r = await submit(client, h, claimant_organisation_id=other["id"])
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "claimant_organisation_id"
    # An evaluation organisation does not claim under this kind.
    _, evaluator = await org_key("evaluation_organisation")
    r = await submit(client, bearer(evaluator))
    assert r.status_code == 403
    # Staff other than officers do not submit.
    _, finance = await staff_token(StaffRole.FINANCE)
    r = await submit(client, bearer(finance))
    assert r.status_code == 403


async def test_an_officer_submits_on_an_organisations_behalf(client):
    _, oh = await officer()
    org = await make_org("training_institution")
    r = await submit(client, oh)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "claimant_organisation_id"
    r = await submit(client, oh, claimant_organisation_id=2_000_000_000)
    assert r.status_code == 400
    school = await make_org("technical_school")
    r = await submit(client, oh, claimant_organisation_id=school["id"])
    assert r.status_code == 400
    r = await submit(client, oh, claimant_organisation_id=org["id"])
    assert r.status_code == 201, r.text
    assert r.json()["claimant_organisation_id"] == org["id"]
    assert r.json()["submitted_by"].startswith("staff:")


async def test_a_duplicate_is_refused_naming_the_claim_until_it_is_withdrawn(client):
    _, key = await org_key("enterprise")
    h = bearer(key)
    thing = unique("intern-month")
    first = await submit(client, h, thing)
    assert first.status_code == 201
    first_id = first.json()["id"]
    # Another organisation claiming the same thing is refused too: it is paid once.
    _, other_key = await org_key("enterprise")
    for headers in (h, bearer(other_key)):
        r = await submit(client, headers, thing)
        assert r.status_code == 409
        assert claim_named(r.json()["detail"]) == first_id
        assert r.json()["existing_claim_id"] == first_id
        assert f"/api/v1/claims/{first_id}" in r.json()["detail"]
    r = await client.post(f"/api/v1/claims/{first_id}/withdraw", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert r.json()["withdrawn_at"] is not None
    again = await submit(client, h, thing)
    assert again.status_code == 201 and again.json()["id"] != first_id
    r = await submit(client, h, thing)
    assert r.status_code == 409 and claim_named(r.json()["detail"]) == again.json()["id"]


# -- withdrawal -------------------------------------------------------------------------


async def test_withdrawal_by_the_claimant_before_approval_only(client):
    org, key = await org_key("enterprise")
    h = bearer(key)
    _, other_key = await org_key("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 10_000_000)
    submitted = await make_claim(scheme=scheme, claimant_id=org["id"])
    calculated = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=100)
    proposed = await make_claim(scheme=scheme, claimant_id=org["id"], status=statuses.PROPOSED)
    approved = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=100)
    r = await client.post(f"/api/v1/claims/{approved}/approve", headers=oh)
    assert r.status_code == 200, r.text

    r = await client.post(f"/api/v1/claims/{submitted}/withdraw", headers=bearer(other_key))
    assert r.status_code == 404
    for claim_id in (submitted, calculated, proposed):
        r = await client.post(f"/api/v1/claims/{claim_id}/withdraw", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "withdrawn"
    r = await client.post(f"/api/v1/claims/{submitted}/withdraw", headers=h)
    assert r.status_code == 409 and "withdrawn" in r.json()["detail"]
    r = await client.post(f"/api/v1/claims/{approved}/withdraw", headers=h)
    assert r.status_code == 409 and "is approved" in r.json()["detail"]
    assert await status_of(approved) == "approved"
    r = await client.post("/api/v1/claims/2000000000/withdraw", headers=h)
    assert r.status_code == 404


async def test_a_payee_that_is_not_the_claimant_cannot_withdraw(client):
    claimant = await make_org("enterprise")
    payee, payee_key = await org_key("training_institution")
    claim = await make_claim(
        scheme=fresh_scheme(), claimant_id=claimant["id"], payee_organisation_id=payee["id"]
    )
    r = await client.get(f"/api/v1/claims/{claim}", headers=bearer(payee_key))
    assert r.status_code == 200
    r = await client.post(f"/api/v1/claims/{claim}/withdraw", headers=bearer(payee_key))
    assert r.status_code == 403
    assert await status_of(claim) == "submitted"


# -- single decisions -------------------------------------------------------------------


async def test_an_officer_approves_a_calculated_claim_against_the_budget(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 1_000_000)
    claim = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=900_000)
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "approved" and body["decided_by"].startswith("staff:")
    assert body["decided_at"] is not None and body["amount_yuan"] == "9,000.00"
    assert (await budget_row(scheme, 2026))["committed_fen"] == 900_000
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 409 and "is approved" in r.json()["detail"]
    assert (await budget_row(scheme, 2026))["committed_fen"] == 900_000
    r = await client.post(f"/api/v1/claims/{claim}/reject", json={"reason": "x"}, headers=oh)
    assert r.status_code == 409
    audit = (
        await AuditEntry.select()
        .where((AuditEntry.action == "claim.approved") & (AuditEntry.object_id == str(claim)))
        .run()
    )
    assert len(audit) == 1
    assert json.loads(audit[0]["after"])["amount_fen"] == 900_000


async def test_only_calculated_claims_are_decided(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 1_000_000)
    submitted = await make_claim(scheme=scheme, claimant_id=org["id"])
    proposed = await make_claim(scheme=scheme, claimant_id=org["id"], status=statuses.PROPOSED)
    for claim in (submitted, proposed):
        r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
        assert r.status_code == 409, r.text
        assert "only a claim that is calculated" in r.json()["detail"]
        r = await client.post(f"/api/v1/claims/{claim}/reject", json={"reason": "no"}, headers=oh)
        assert r.status_code == 409
    assert (await budget_row(scheme, 2026))["committed_fen"] == 0
    r = await client.post("/api/v1/claims/2000000000/approve", headers=oh)
    assert r.status_code == 404
    # Organisations and other staff roles do not decide.
    _, key = await org_key("enterprise")
    _, finance = await staff_token(StaffRole.FINANCE, StaffRole.ADMIN)
    calculated = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=1)
    for h in (bearer(key), bearer(finance)):
        r = await client.post(f"/api/v1/claims/{calculated}/approve", headers=h)
        assert r.status_code == 403


async def test_a_rejection_needs_a_reason_and_frees_the_thing_claimed(client):
    _, key = await org_key("enterprise")
    _, oh = await officer()
    thing = unique("thing")
    r = await submit(client, bearer(key), thing)
    claim = r.json()["id"]
    await set_calculated(claim, 50_000)
    for reason in ("", "   "):
        r = await client.post(f"/api/v1/claims/{claim}/reject", json={"reason": reason}, headers=oh)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(f"/api/v1/claims/{claim}/reject", json={}, headers=oh)
    assert r.status_code == 400
    r = await client.post(f"/api/v1/claims/{claim}/reject", json={"reason": "x" * 1001}, headers=oh)
    assert r.status_code == 400
    r = await client.post(
        f"/api/v1/claims/{claim}/reject",
        json={"reason": " intern was not insured in March "},
        headers=oh,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["reject_reason"] == "intern was not insured in March"
    r = await submit(client, bearer(key), thing)
    assert r.status_code == 201


async def test_the_submitter_never_approves(client):
    org = await make_org("enterprise")
    submitter, sh = await officer()
    _, other = await officer()
    r = await submit(client, sh, claimant_organisation_id=org["id"])
    assert r.status_code == 201
    claim = r.json()["id"]
    await set_calculated(claim, 0)
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=sh)
    assert r.status_code == 403 and "same account" in r.json()["detail"]
    # Another session of the same account is the same actor.
    from accounts import staff

    token, _ = await staff.login(submitter["username"], submitter["password"], ttl_minutes=5)
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=bearer(token))
    assert r.status_code == 403
    assert await status_of(claim) == "calculated"
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=other)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    denied = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    assert any(f"/api/v1/claims/{claim}/approve" in (d["object_id"] or "") for d in denied)


async def tied_officers() -> tuple[dict[str, Any], dict[str, Any], tuple[dict, dict, dict]]:
    """A claimant and a payee organisation, and the headers of three officers: one
    linked to the claimant, one employed by the payee, one tied to neither."""
    claimant = await make_org("enterprise")
    payee = await make_org("training_institution")
    linked, lh = await officer()
    employed, eh = await officer()
    _, free = await officer()
    await affiliations.record_affiliation(
        ADMIN, linked["id"], affiliations.NewAffiliation(claimant["id"], "linked")
    )
    await affiliations.record_affiliation(
        ADMIN, employed["id"], affiliations.NewAffiliation(payee["id"], "employed")
    )
    return claimant, payee, (lh, eh, free)


async def test_an_officer_linked_to_the_claimant_or_payee_decides_none_of_its_claims(client):
    claimant, payee, (lh, eh, free) = await tied_officers()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 1_000_000)
    claim = await make_claim(
        scheme=scheme,
        claimant_id=claimant["id"],
        payee_organisation_id=payee["id"],
        amount_fen=1000,
    )
    for h in (lh, eh):
        r = await client.post(f"/api/v1/claims/{claim}/approve", headers=h)
        assert r.status_code == 403 and "another officer must decide" in r.json()["detail"]
        r = await client.post(f"/api/v1/claims/{claim}/reject", json={"reason": "no"}, headers=h)
        assert r.status_code == 403
    assert await status_of(claim) == "calculated"
    # Not linked to this one: deciding another organisation's claim is fine.
    other = await make_claim(scheme=scheme, claimant_id=(await make_org())["id"], amount_fen=5)
    r = await client.post(f"/api/v1/claims/{other}/approve", headers=lh)
    assert r.status_code == 200
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=free)
    assert r.status_code == 200


async def test_the_cap_holds_at_its_boundary_with_the_figures(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 100_000_000)
    internship = await policy_version_id("internship")  # cap 9,000 yuan per intern
    cap_key = unique("internship:intern:")
    claims = [
        await make_claim(
            scheme=scheme,
            claimant_id=org["id"],
            amount_fen=300_000,
            cap_key=cap_key,
            policy_version=internship,
        )
        for _ in range(3)
    ]
    fourth = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=1,
        cap_key=cap_key,
        policy_version=internship,
    )
    for claim in claims:  # exactly 9,000 yuan: all three fit
        r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
        assert r.status_code == 200, r.text
    assert await cap_used(cap_key) == 900_000
    r = await client.post(f"/api/v1/claims/{fourth}/approve", headers=oh)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert cap_key in detail and "9,000.00 yuan of 9,000.00" in detail and "needs 0.01" in detail
    assert await status_of(fourth) == "calculated"
    assert await cap_used(cap_key) == 900_000
    assert (await budget_row(scheme, 2026))["committed_fen"] == 900_000
    # A zero amount under the full cap is approved and takes nothing.
    zero = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=0,
        cap_key=cap_key,
        policy_version=internship,
    )
    r = await client.post(f"/api/v1/claims/{zero}/approve", headers=oh)
    assert r.status_code == 200
    assert await cap_used(cap_key) == 900_000


async def test_the_skill_level_cap_is_per_person_across_claims(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 100_000_000)
    skill = await policy_version_id("skill_level")  # cap 50,000 yuan per person
    cap_key = unique("skill_level:person:")
    big = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=4_000_000,
        cap_key=cap_key,
        policy_version=skill,
    )
    over = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=1_000_001,
        cap_key=cap_key,
        policy_version=skill,
    )
    fits = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=1_000_000,
        cap_key=cap_key,
        policy_version=skill,
    )
    assert (await client.post(f"/api/v1/claims/{big}/approve", headers=oh)).status_code == 200
    r = await client.post(f"/api/v1/claims/{over}/approve", headers=oh)
    assert r.status_code == 409 and "10,000.00 left" in r.json()["detail"]
    assert (await client.post(f"/api/v1/claims/{fits}/approve", headers=oh)).status_code == 200
    assert await cap_used(cap_key) == 5_000_000


async def test_the_budget_refuses_with_the_figures_and_an_exact_fit_passes(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 600_000)
    first = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=300_000)
    too_much = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=300_001)
    exact = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=300_000)
    assert (await client.post(f"/api/v1/claims/{first}/approve", headers=oh)).status_code == 200
    r = await client.post(f"/api/v1/claims/{too_much}/approve", headers=oh)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert f"budget {scheme} 2026" in detail
    assert "3,000.00 yuan of 6,000.00" in detail and "3,000.00 left" in detail
    assert "needs 3,000.01" in detail
    assert await status_of(too_much) == "calculated"
    assert (await client.post(f"/api/v1/claims/{exact}/approve", headers=oh)).status_code == 200
    assert (await budget_row(scheme, 2026))["committed_fen"] == 600_000
    # The year is the claim's budget year: another year has no budget.
    next_year = await make_claim(
        scheme=scheme, claimant_id=org["id"], amount_fen=1, budget_year=2027
    )
    r = await client.post(f"/api/v1/claims/{next_year}/approve", headers=oh)
    assert r.status_code == 409 and "no budget is set" in r.json()["detail"]


async def test_a_refused_cap_rolls_back_nothing_else_and_a_refused_budget_frees_the_cap(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 100_000)
    internship = await policy_version_id("internship")
    cap_key = unique("internship:intern:")
    claim = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        amount_fen=200_000,
        cap_key=cap_key,
        policy_version=internship,
    )
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 409 and "budget" in r.json()["detail"]
    # The cap was taken in the same unit of work and rolled back with it.
    assert await cap_used(cap_key) == 0
    assert await status_of(claim) == "calculated"


async def test_a_zero_amount_is_approved_without_a_budget(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    claim = await make_claim(scheme=fresh_scheme(), claimant_id=org["id"], amount_fen=0)
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 200 and r.json()["amount_yuan"] == "0.00"


# -- bulk decisions ---------------------------------------------------------------------


async def test_bulk_approval_reports_each_claim(client):
    org = await make_org("enterprise")
    me, oh = await officer()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 500_000)
    ok1 = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=200_000)
    ok2 = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=300_000)
    over = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=300_001)
    mine = await make_claim(
        scheme=scheme, claimant_id=org["id"], amount_fen=0, submitted_by=f"staff:{me['id']}:x"
    )
    not_calculated = await make_claim(scheme=scheme, claimant_id=org["id"])
    ids = [ok1, over, mine, ok1, not_calculated, 2_000_000_000, ok2]
    r = await client.post("/api/v1/claims/approvals", json={"claim_ids": ids}, headers=oh)
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {x["claim_id"]: x for x in body["results"]}
    assert [x["claim_id"] for x in body["results"]] == [
        ok1,
        over,
        mine,
        not_calculated,
        2_000_000_000,
        ok2,
    ]
    assert body["decided"] == 2 and body["refused"] == 4
    assert by_id[ok1]["outcome"] == "approved" and by_id[ok1]["amount_fen"] == 200_000
    assert by_id[ok2]["outcome"] == "approved"
    # In the order given: ok1 leaves 3,000 yuan, `over` needs 3,000.01, ok2 fits exactly.
    assert by_id[over]["outcome"] == "refused" and by_id[over]["error"] == "conflict"
    assert "budget" in by_id[over]["reason"]
    assert by_id[mine]["error"] == "forbidden" and "same account" in by_id[mine]["reason"]
    assert by_id[not_calculated]["error"] == "conflict"
    assert "submitted" in by_id[not_calculated]["reason"]
    assert by_id[2_000_000_000]["error"] == "not_found"
    assert (await budget_row(scheme, 2026))["committed_fen"] == 500_000
    assert await status_of(over) == "calculated" and await status_of(mine) == "calculated"
    r = await client.post("/api/v1/claims/approvals", json={"claim_ids": []}, headers=oh)
    assert r.status_code == 400
    r = await client.post(
        "/api/v1/claims/approvals", json={"claim_ids": list(range(1, 502))}, headers=oh
    )
    assert r.status_code == 400


async def test_bulk_rejection_needs_a_reason_and_reports_each_claim(client):
    org = await make_org("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    a = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=10)
    b = await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=20)
    submitted = await make_claim(scheme=scheme, claimant_id=org["id"])
    r = await client.post(
        "/api/v1/claims/rejections", json={"claim_ids": [a, b], "reason": " "}, headers=oh
    )
    assert r.status_code == 400
    r = await client.post(
        "/api/v1/claims/rejections",
        json={"claim_ids": [a, submitted, b], "reason": "insurance not shown"},
        headers=oh,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["decided"] == 2 and body["refused"] == 1
    assert [x["outcome"] for x in body["results"]] == ["rejected", "refused", "rejected"]
    assert await status_of(a) == "rejected" and await status_of(b) == "rejected"
    assert await status_of(submitted) == "submitted"


# -- budgets ----------------------------------------------------------------------------


async def free_year(scheme: str) -> int:
    """A year with no budget for this real scheme yet (the database is shared)."""
    for year in random.sample(range(2000, 2101), 101):
        if not await Budget.exists().where((Budget.scheme == scheme) & (Budget.year == year)).run():
            return year
    raise AssertionError(f"no free year for {scheme}")


async def test_finance_sets_budgets_and_staff_read_them(client):
    _, finance = await staff_token(StaffRole.FINANCE)
    _, auditor = await staff_token(StaffRole.AUDITOR)
    _, oh = await officer()
    _, key = await org_key("enterprise")
    year = await free_year("studio_grant")
    url = f"/api/v1/budgets/studio_grant/{year}"
    r = await client.put(url, json={"amount_fen": 5_000_000}, headers=oh)
    assert r.status_code == 403
    r = await client.put(url, json={"amount_fen": 5_000_000}, headers=bearer(finance))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "scheme": "studio_grant",
        "year": year,
        "amount_fen": 5_000_000,
        "committed_fen": 0,
        "remaining_fen": 5_000_000,
        "amount_yuan": "50,000.00",
        "committed_yuan": "0.00",
        "remaining_yuan": "50,000.00",
        "set_by": r.json()["set_by"],
    }
    r = await client.put(url, json={"amount_fen": 6_000_000}, headers=bearer(finance))
    assert r.status_code == 200 and r.json()["amount_fen"] == 6_000_000
    r = await client.get("/api/v1/budgets?scheme=studio_grant", headers=bearer(auditor))
    assert r.status_code == 200
    mine = [b for b in r.json()["items"] if b["year"] == year]
    assert mine and mine[0]["remaining_fen"] == 6_000_000
    r = await client.get(url, headers=oh)
    assert r.status_code == 200 and r.json()["amount_fen"] == 6_000_000
    r = await client.get("/api/v1/budgets", headers=bearer(key))
    assert r.status_code == 403
    for body, field in (
        ({"amount_fen": -1}, "amount_fen"),
        ({"amount_fen": 10**14 + 1}, "amount_fen"),
    ):
        r = await client.put(url, json=body, headers=bearer(finance))
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == field
    r = await client.put(
        "/api/v1/budgets/no_scheme/2026", json={"amount_fen": 1}, headers=bearer(finance)
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scheme"
    r = await client.put(
        "/api/v1/budgets/studio_grant/1999", json={"amount_fen": 1}, headers=bearer(finance)
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "year"


async def test_a_budget_never_goes_below_what_is_committed(client):
    _, admin = await staff_token(StaffRole.ADMIN)
    _, oh = await officer()
    org = await make_org("enterprise")
    year = await free_year("leading_talent_introduction")
    url = f"/api/v1/budgets/leading_talent_introduction/{year}"
    r = await client.put(url, json={"amount_fen": 1_000_000}, headers=bearer(admin))
    assert r.status_code == 200
    claim = await make_claim(
        scheme="leading_talent_introduction",
        claimant_id=org["id"],
        amount_fen=700_000,
        budget_year=year,
    )
    assert (await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)).status_code == 200
    r = await client.put(url, json={"amount_fen": 699_999}, headers=bearer(admin))
    assert r.status_code == 409
    assert "7,000.00 yuan is already committed" in r.json()["detail"]
    assert "6,999.99" in r.json()["detail"]
    r = await client.put(url, json={"amount_fen": 700_000}, headers=bearer(admin))
    assert r.status_code == 200
    assert r.json()["remaining_fen"] == 0 and r.json()["committed_fen"] == 700_000


# -- proposed claims: confirming the account ---------------------------------------------


async def test_the_employer_confirms_a_persons_account_for_a_proposed_claim(client):
    employer, key = await org_key("enterprise")
    _, stranger = await org_key("enterprise")
    person_id = await make_person()
    person = await Person.select(Person.name).where(Person.id == person_id).first().run()
    claim = await make_claim(
        scheme=fresh_scheme(),
        claimant_id=employer["id"],
        payee_kind="person",
        person_id=person_id,
        status=statuses.PROPOSED,
        submitted_by="system:scan",
    )
    url = f"/api/v1/claims/{claim}/confirm-account"
    r = await client.post(url, json={"bank_name": "工商银行"}, headers=bearer(stranger))
    assert r.status_code == 404
    r = await client.post(url, json={}, headers=bearer(key))
    assert r.status_code == 400  # no account on record yet
    r = await client.post(url, json={"bank_name": "工商银行"}, headers=bearer(key))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "bank_account"
    r = await client.post(
        url, json={"bank_name": "工商银行", "bank_account": "12ab"}, headers=bearer(key)
    )
    assert r.status_code == 400
    r = await client.post(
        url,
        json={
            "bank_name": "工商银行",
            "bank_account": "6222 0000 1111",
            "bank_account_name": "某某",
        },
        headers=bearer(key),
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "bank_account_name"
    assert await status_of(claim) == "proposed"

    async def account_on_record() -> dict[str, Any]:
        return await (
            Person.select(Person.bank_name, Person.bank_account, Person.bank_account_set_by)
            .where(Person.id == person_id)
            .first()
            .run()
        )

    # An employer never records a person's account: what it gives is a proposal.
    given = {"bank_name": "工商银行", "bank_account": "6222 0000 1111",
             "bank_account_name": person["name"]}  # fmt: skip
    for _ in range(2):
        r = await client.post(url, json=given, headers=bearer(key))
        assert r.status_code == 202, r.text
        assert r.json()["claim"]["status"] == "proposed"
        assert "awaits an officer" in r.json()["detail"]
    proposal_id = r.json()["proposal_id"]
    proposals = f"/api/v1/people/{person_id}/payment-account/proposals"
    _, oh = await officer()
    listed = (await client.get(proposals, headers=oh)).json()
    assert [(p["id"], p["status"]) for p in listed] == [(proposal_id, "pending")]  # given twice
    assert (await account_on_record())["bank_account"] is None
    assert await status_of(claim) == "proposed"
    r = await client.post(f"{proposals}/{proposal_id}/confirmation", headers=oh)
    assert r.status_code == 200, r.text
    saved = await account_on_record()
    assert (saved["bank_name"], saved["bank_account"]) == ("工商银行", "622200001111")
    assert saved["bank_account_set_by"].startswith("staff:")

    r = await client.post(url, json=given, headers=bearer(key))  # the account on record
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "submitted"
    assert body["account_confirmed_by"].startswith(f"org:{employer['id']}:")
    assert body["account_confirmed_at"] is not None
    jobs = await Job.select(Job.payload).where(Job.kind == CALCULATE).run()
    assert any(json.loads(j["payload"]).get("claim_ids") == [claim] for j in jobs)
    r = await client.post(url, json={}, headers=bearer(key))
    assert r.status_code == 409 and "submitted" in r.json()["detail"]


async def test_the_payee_organisation_or_an_officer_confirms_an_organisations_account(client):
    payee, key = await org_key("enterprise")
    _, oh = await officer()
    scheme = fresh_scheme()
    first = await make_claim(scheme=scheme, claimant_id=payee["id"], status=statuses.PROPOSED)
    second = await make_claim(scheme=scheme, claimant_id=payee["id"], status=statuses.PROPOSED)
    r = await client.post(f"/api/v1/claims/{first}/confirm-account", json={}, headers=bearer(key))
    assert r.status_code == 400
    r = await client.post(
        f"/api/v1/claims/{first}/confirm-account",
        json={"bank_name": "建设银行", "bank_account": "44001234567890"},
        headers=bearer(key),
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "bank_account_name"
    r = await client.post(
        f"/api/v1/claims/{first}/confirm-account",
        json={
            "bank_name": "建设银行",
            "bank_account": "44001234567890",
            "bank_account_name": "东莞某某有限公司",
        },
        headers=bearer(key),
    )
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    org = await Organisation.select().where(Organisation.id == payee["id"]).first().run()
    assert org["bank_account"] == "44001234567890"
    # The account is on record now: an officer confirms the second claim with it.
    r = await client.post(f"/api/v1/claims/{second}/confirm-account", json={}, headers=oh)
    assert r.status_code == 200 and r.json()["account_confirmed_by"].startswith("staff:")


async def test_the_officer_who_confirmed_the_account_does_not_approve(client):
    payee = await make_org("enterprise")
    _, oh = await officer()
    _, other = await officer()
    scheme = fresh_scheme()
    claim = await make_claim(scheme=scheme, claimant_id=payee["id"], status=statuses.PROPOSED)
    r = await client.post(
        f"/api/v1/claims/{claim}/confirm-account",
        json={
            "bank_name": "建设银行",
            "bank_account": "44001234567890",
            "bank_account_name": "东莞某某有限公司",
        },
        headers=oh,
    )
    assert r.status_code == 200
    await set_calculated(claim, 0)
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=oh)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/claims/{claim}/approve", headers=other)
    assert r.status_code == 200


# -- reading ----------------------------------------------------------------------------


async def test_organisations_read_their_own_claims_and_staff_read_all(client):
    org, key = await org_key("enterprise")
    _, other_key = await org_key("enterprise")
    _, oh = await officer()
    _, finance = await staff_token(StaffRole.FINANCE)
    person_id = await make_person()
    person = await Person.select(Person.id_number).where(Person.id == person_id).first().run()
    internship = await policy_version_id("internship")
    scheme = fresh_scheme()
    claim = await make_claim(
        scheme=scheme,
        claimant_id=org["id"],
        person_id=person_id,
        amount_fen=900_000,
        cap_key="internship:intern:x",
        policy_version=internship,
    )
    await make_claim(scheme=scheme, claimant_id=org["id"], budget_year=2025)
    r = await client.get(f"/api/v1/claims/{claim}", headers=bearer(key))
    assert r.status_code == 200
    body = r.json()
    assert body["amount_fen"] == 900_000 and body["amount_yuan"] == "9,000.00"
    assert body["policy_scheme"] == "internship" and body["policy_version"] == 1
    assert body["inputs"] == {"months": 3, "rate_fen": 300000}
    assert body["trace"][0] == {"zh": "测试金额 900000 分", "en": "test amount 900000 fen"}
    assert body["status"] == "calculated" and body["calculated_at"] is not None
    assert body["person_id_number"] != person["id_number"]
    assert (
        body["person_id_number"][:4] == person["id_number"][:4] and "*" in body["person_id_number"]
    )
    r = await client.get(f"/api/v1/claims/{claim}", headers=bearer(finance))
    assert r.json()["person_id_number"] != person["id_number"]
    r = await client.get(f"/api/v1/claims/{claim}", headers=oh)
    assert r.json()["person_id_number"] == person["id_number"]
    r = await client.get(f"/api/v1/claims/{claim}", headers=bearer(other_key))
    assert r.status_code == 404
    r = await client.get("/api/v1/claims/2000000000", headers=oh)
    assert r.status_code == 404

    r = await client.get("/api/v1/claims?limit=200", headers=bearer(key))
    assert {c["claimant_organisation_id"] for c in r.json()["items"]} == {org["id"]}
    assert len(r.json()["items"]) == 2
    r = await client.get("/api/v1/claims", headers=bearer(other_key))
    assert r.json()["items"] == []
    r = await client.get(
        f"/api/v1/claims?claimant={org['id']}&year=2026&status=calculated&scheme={scheme}",
        headers=oh,
    )
    assert [c["id"] for c in r.json()["items"]] == [claim]
    r = await client.get(f"/api/v1/claims?scheme={scheme}&status=submitted", headers=oh)
    assert len(r.json()["items"]) == 1 and r.json()["items"][0]["budget_year"] == 2025
    r = await client.get(f"/api/v1/claims?scheme={scheme}&person={person_id}", headers=oh)
    assert [c["id"] for c in r.json()["items"]] == [claim]
    r = await client.get("/api/v1/claims?status=bogus", headers=oh)
    assert r.status_code == 400
    # Paging: one at a time, the cursor walks both.
    r = await client.get(f"/api/v1/claims?scheme={scheme}&limit=1", headers=oh)
    page = r.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    r = await client.get(
        f"/api/v1/claims?scheme={scheme}&limit=1&cursor={page['next_cursor']}", headers=oh
    )
    assert len(r.json()["items"]) == 1 and r.json()["items"][0]["id"] != page["items"][0]["id"]


# -- many claims from a scheme -------------------------------------------------------------


async def test_schemes_create_many_claims_in_their_own_unit_of_work(db):
    from subsidies.claims import service

    org = await make_org("enterprise")
    scheme = fresh_scheme()

    def new(key: str, status: str = statuses.SUBMITTED) -> NewClaim:
        return NewClaim(
            scheme=scheme,
            dedupe_key=key,
            basis_date=date(2026, 5, 1),
            payee_kind="organisation",
            submitted_by="system:test",
            status=status,
            claimant_id=org["id"],
            payee_organisation_id=org["id"],
        )

    held_key = unique("k")
    async with unit_of_work():
        first, _ = await service.create_claims("system:test", [new(held_key)])
    keys = [unique("k"), unique("k")]
    async with unit_of_work():
        ids, held = await service.create_claims(
            "system:test",
            [new(keys[0]), new(held_key), new(keys[1], statuses.PROPOSED), new(keys[0])],
            organisation_id=org["id"],
        )
    assert len(ids) == 2 and held == {held_key: first[0]}
    jobs = await Job.select(Job.payload).where(Job.kind == CALCULATE).run()
    payloads = [
        json.loads(j["payload"]) for j in jobs if json.loads(j["payload"])["scheme"] == scheme
    ]
    # The proposed claim waits for its account to be confirmed before it is calculated.
    assert sorted(p["claim_ids"] for p in payloads) == [first, [ids[0]]]
    audit = (
        await AuditEntry.select(AuditEntry.after)
        .where((AuditEntry.action == "claims.created") & (AuditEntry.object_id == str(ids[0])))
        .run()
    )
    assert json.loads(audit[0]["after"])["count"] == 2
    # Outside a unit of work it refuses rather than committing piecemeal.
    try:
        await service.create_claims("system:test", [new(unique("k"))])
    except RuntimeError as error:
        assert "unit of work" in str(error)
    else:
        raise AssertionError("create_claims ran outside a unit of work")
