"""Caps, budgets and duplicates under concurrent requests, on SQLite and PostgreSQL.

Every request goes through the API at once (asyncio.gather), by several officers. What
must hold afterwards: nothing committed beyond a cap or a budget, the CapUsage and
Budget figures equal to the sum of the claims actually approved, each claim decided at
most once, and one claim per thing however many submissions race for it."""

from __future__ import annotations

import asyncio
import itertools
import re

import httpx

from subsidies.claims import statuses
from subsidies.claims.tables import CapUsage, Claim
from tests.conftest import bearer, make_org, org_key, unique
from tests.integration.test_claims import (
    TEST_SCHEME,
    budget_row,
    fresh_scheme,
    make_claim,
    officer,
    policy_version_id,
    set_budget_row,
    submit,
)
from tests.support.claim_rows import claim_rows

OFFICERS = 4


async def officers(n: int = OFFICERS) -> list[dict[str, str]]:
    return [(await officer())[1] for _ in range(n)]


async def approve_all(
    client: httpx.AsyncClient, claim_ids: list[int], headers: list[dict[str, str]]
) -> list[httpx.Response]:
    rotation = itertools.cycle(headers)
    return await asyncio.gather(
        *(
            client.post(f"/api/v1/claims/{claim_id}/approve", headers=next(rotation))
            for claim_id in claim_ids
        )
    )


async def approved_sum(claim_ids: list[int]) -> tuple[set[int], int]:
    rows = await claim_rows(Claim.id.is_in(claim_ids))
    approved = {r["id"] for r in rows if r["status"] == statuses.APPROVED}
    return approved, sum(r["amount_fen"] for r in rows if r["id"] in approved)


async def test_concurrent_approvals_never_pass_a_cap(client):
    org = await make_org("enterprise")
    heads = await officers()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 10**12)
    internship = await policy_version_id("internship")  # cap 9,000 yuan
    cap_key = unique("internship:intern:")
    # 16 claims, 20,250 yuan in all, for one 9,000 yuan cap.
    amounts = [150_000, 100_000, 250_000, 50_000, 125_000, 75_000, 200_000, 25_000] * 2
    claims = [
        await make_claim(
            scheme=scheme,
            claimant_id=org["id"],
            amount_fen=amount,
            cap_key=cap_key,
            policy_version=internship,
        )
        for amount in amounts
    ]
    responses = await approve_all(client, claims, heads)
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert cap_key in response.json()["detail"]
    approved, total = await approved_sum(claims)
    assert approved == {c for c, r in zip(claims, responses, strict=True) if r.status_code == 200}
    used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == cap_key).first().run()
    assert used is not None and used["used_fen"] == total <= 900_000
    # Whatever got through, what is left could not take the smallest refused claim.
    refused = [a for c, a in zip(claims, amounts, strict=True) if c not in approved]
    assert refused and total + min(refused) > 900_000
    assert (await budget_row(scheme, 2026))["committed_fen"] == total


async def test_concurrent_approvals_never_pass_a_budget(client):
    org = await make_org("enterprise")
    heads = await officers()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 1_000_000)
    claims = [
        await make_claim(scheme=scheme, claimant_id=org["id"], amount_fen=150_000)
        for _ in range(14)
    ]
    responses = await approve_all(client, claims, heads)
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 6 and codes.count(409) == 8, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert f"budget {scheme} 2026" in response.json()["detail"]
    approved, total = await approved_sum(claims)
    assert len(approved) == 6 and total == 900_000
    assert (await budget_row(scheme, 2026))["committed_fen"] == total


async def test_concurrent_bulk_and_single_approvals_decide_each_claim_once(client):
    org = await make_org("enterprise")
    heads = await officers()
    scheme = fresh_scheme()
    await set_budget_row(scheme, 2026, 1_500_000)
    internship = await policy_version_id("internship")
    # Two interns with 5 claims of 3,000 yuan each: each cap (9,000) fits 3 of an intern's,
    # the budget (15,000) fits 5 in all, less than both caps together.
    keys = [unique("internship:intern:"), unique("internship:intern:")]
    claims = [
        await make_claim(
            scheme=scheme,
            claimant_id=org["id"],
            amount_fen=300_000,
            cap_key=keys[i % 2],
            policy_version=internship,
        )
        for i in range(10)
    ]
    half = len(claims) // 2
    requests = [
        client.post("/api/v1/claims/approvals", json={"claim_ids": claims}, headers=heads[0]),
        client.post("/api/v1/claims/approvals", json={"claim_ids": claims[::-1]}, headers=heads[1]),
        client.post(
            "/api/v1/claims/approvals", json={"claim_ids": claims[half:]}, headers=heads[2]
        ),
        *(client.post(f"/api/v1/claims/{c}/approve", headers=heads[3]) for c in claims),
    ]
    responses = await asyncio.gather(*requests)
    bulk, single = responses[:3], responses[3:]
    assert all(r.status_code == 200 for r in bulk), [r.text for r in bulk]
    approvals = [
        x["claim_id"] for r in bulk for x in r.json()["results"] if x["outcome"] == "approved"
    ]
    approvals += [c for c, r in zip(claims, single, strict=True) if r.status_code == 200]
    assert len(approvals) == len(set(approvals)), "a claim was approved twice"
    approved, total = await approved_sum(claims)
    assert approved == set(approvals)
    assert len(approved) == 5 and total == 1_500_000
    amounts = await Claim.select(Claim.id, Claim.cap_key).where(Claim.id.is_in(claims)).run()
    for key in keys:
        per_key = sum(300_000 for r in amounts if r["cap_key"] == key and r["id"] in approved)
        used = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
        assert used is not None and used["used_fen"] == per_key <= 900_000
    assert (await budget_row(scheme, 2026))["committed_fen"] == 1_500_000


async def test_concurrent_duplicate_submissions_create_one_claim(client):
    _, key = await org_key("enterprise")
    _, other_key = await org_key("training_institution")
    thing = unique("same-thing")
    heads = [bearer(key), bearer(other_key)]
    responses = await asyncio.gather(*(submit(client, heads[i % 2], thing) for i in range(12)))
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, [r.text for r in responses]
    winner = created[0].json()["id"]
    for response in responses:
        if response.status_code != 201:
            assert response.status_code == 409, response.text
            named = re.search(r"claim (\d+) already claims", response.json()["detail"])
            assert named and int(named.group(1)) == winner
    rows = await Claim.select(Claim.id).where(Claim.dedupe_key == f"{TEST_SCHEME}:{thing}").run()
    assert [r["id"] for r in rows] == [winner]
