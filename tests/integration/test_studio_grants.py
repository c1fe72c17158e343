"""The master studio grant on SQLite and PostgreSQL: an established studio's host
claims the grant for the studio's level (singly or in a claim file), a run calculates
it, and the same studio and level is never claimed twice."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import Any

from registry.studios.tables import Studio
from tests.conftest import bearer, org_key
from tests.integration.test_skill_levels import wait_for_job
from tests.support import registry_data as data

YUAN = 100


async def studio(
    host: dict[str, Any], level: str | None = "city", status: str = "established"
) -> int:
    master = await data.person()
    row = Studio(
        host=host["id"],
        master=master["id"],
        occupation_code="6-18-02-04",
        occupation_name="焊工",
        plan="带徒传艺，技术攻关",
        master_basis="test",
        status=status,
        level=level,
        established_on=date(2025, 3, 1) if status == "established" else None,
        applied_by="test",
    )
    await row.save().run()
    return row.id


def body(studio_id: int) -> dict[str, Any]:
    return {
        "scheme": "studio_grant",
        "basis_date": "2026-01-01",
        "details": {"studio_id": studio_id},
    }


async def calculated(client, key: str, claim_id: int) -> dict[str, Any]:
    for _ in range(600):
        claim = (await client.get(f"/api/v1/claims/{claim_id}", headers=bearer(key))).json()
        if claim["status"] != "submitted":
            return claim
        await asyncio.sleep(0.05)
    raise AssertionError(f"claim {claim_id} was not calculated")


async def test_the_host_of_an_established_studio_is_granted_its_level_once(client):
    host, key = await org_key("enterprise")
    studio_id = await studio(host)
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["dedupe_key"] == f"studio_grant:{studio_id}:city"
    assert (claim["payee_kind"], claim["payee_organisation_id"]) == ("organisation", host["id"])
    assert claim["basis_date"] == "2025-03-01" and claim["budget_year"] == 2025
    done = await calculated(client, key, claim["id"])
    assert done["status"] == "calculated" and done["amount_fen"] == 100_000 * YUAN, done
    assert "city master studio grant 100,000 yuan" in done["trace"][-1]["en"]

    # The same level again: 409 naming the first claim.
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 409 and r.json()["existing_claim_id"] == claim["id"], r.text

    # Raised to province level: that level's grant, in full.
    await Studio.update({Studio.level: "province"}).where(Studio.id == studio_id).run()
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(studio_id))
    assert r.status_code == 201, r.text
    done = await calculated(client, key, r.json()["id"])
    assert done["amount_fen"] == 200_000 * YUAN, done


async def test_only_an_established_studio_of_the_claimant_is_granted(client):
    host, key = await org_key("enterprise")
    other, _ = await org_key("technical_school")
    pending = await studio(host, level=None, status="under_review")
    theirs = await studio(other)
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(pending))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.studio_id"
    assert "under_review" in r.text
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(theirs))
    assert r.status_code == 404, r.text
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body(10**9))
    assert r.status_code == 404
    bad = {**body(pending), "details": {"studio_id": "x"}}
    r = await client.post("/api/v1/claims", headers=bearer(key), json=bad)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "details.studio_id"
    # An evaluation organisation hosts no studios.
    _, judge = await org_key("evaluation_organisation")
    r = await client.post("/api/v1/claims", headers=bearer(judge), json=body(pending))
    assert r.status_code == 403


async def test_studio_grants_are_claimed_in_a_file_too(client):
    host, key = await org_key("training_institution")
    first, second = await studio(host, "national"), await studio(host)
    out = io.StringIO()
    csv.writer(out).writerows([["工作室ID/Studio ID"], [first], [second], [first]])
    r = await client.post(
        "/api/v1/claim-files?scheme=studio_grant&filename=studios.csv",
        headers=bearer(key),
        content=out.getvalue().encode("utf-8"),
    )
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, f"/api/v1/jobs/{r.json()['job_id']}", bearer(key))
    assert job["status"] == "done", job
    file = (await client.get(f"/api/v1/claim-files/{r.json()['id']}", headers=bearer(key))).json()
    assert (file["accepted"], file["duplicate"], file["rejected"]) == (2, 1, 0), file
    assert job["result"]["claim_ids"] and len(job["result"]["claim_ids"]) == 2
    amounts = sorted(
        [(await calculated(client, key, i))["amount_fen"] for i in job["result"]["claim_ids"]]
    )
    assert amounts == [100_000 * YUAN, 500_000 * YUAN]
